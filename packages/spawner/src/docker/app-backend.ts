/** Users' OpenHands apps as Docker containers `oh-app-<slug>` on their own bridge networks. */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { appEnvironment, APP_DOCKER_DIR, APP_STATE_DIR, openhandsVersion, userJwtSecret } from "../app-environment";
import type { AppBackend, AppInstance, AppStartRequest, UserPlacement } from "../backends";
import type { SpawnerConfig } from "../config";
import type { Logger } from "../log";
import { names } from "../slug";
import { DockerApiError } from "./engine-client";
import type { ContainerState, DockerHostView } from "./host-view";
import { nextFreeSubnetIndex, subnetIndexOf, userSubnet, type UserSubnet } from "./network";

export const SPEC_LABEL = "org.openhands-team.spec";
export const OWNER_LABEL = "org.openhands-team.owner";

export class DockerAppBackend implements AppBackend {
  /** Subnet indexes handed out but possibly not yet visible in the view. */
  private readonly reserved = new Set<number>();
  private readonly subnets = new Map<string, UserSubnet>();
  /** subnet index → when its network was removed (persisted, so a spawner restart keeps holding it back). */
  private readonly reclaimedAt = new Map<number, number>();
  private readonly reclaimedFile: string;

  constructor(
    private readonly view: DockerHostView,
    private readonly config: SpawnerConfig,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.reclaimedFile = join(config.paths.dockerApiDir, "reclaimed-subnets.json");
    try {
      const saved = JSON.parse(readFileSync(this.reclaimedFile, "utf8")) as Record<string, unknown>;
      for (const [index, at] of Object.entries(saved))
        if (typeof at === "number" && Number.isInteger(Number(index))) this.reclaimedAt.set(Number(index), at);
    } catch {
      // No file (first start) or an unreadable one: nothing held back.
    }
    view.onNetworkGone((network) => {
      const index = subnetIndexOf(config.network.subnetPrefix, network.subnet);
      if (index !== undefined) this.reclaimed(index);
    });
  }

  /** Records that a user's /24 was freed now. */
  private reclaimed(index: number) {
    const now = this.now();
    this.reclaimedAt.set(index, now);
    for (const [other, at] of this.reclaimedAt) if (at + this.config.network.subnetReuseDelayMs <= now) this.reclaimedAt.delete(other);
    try {
      mkdirSync(this.config.paths.dockerApiDir, { recursive: true, mode: 0o755 });
      writeFileSync(this.reclaimedFile, JSON.stringify(Object.fromEntries(this.reclaimedAt)), { mode: 0o600 });
    } catch (error) {
      this.log.warn("reclaimed subnets not saved", { error: (error as Error).message });
    }
  }

  /** Indexes freed less than network.subnetReuseDelayMs ago, and when the first of them becomes usable. */
  private quarantined(): { indexes: Set<number>; nextFreeAt: number | undefined } {
    const now = this.now();
    const indexes = new Set<number>();
    let nextFreeAt: number | undefined;
    for (const [index, at] of this.reclaimedAt) {
      const until = at + this.config.network.subnetReuseDelayMs;
      if (until <= now) continue;
      indexes.add(index);
      nextFreeAt = nextFreeAt === undefined ? until : Math.min(nextFreeAt, until);
    }
    return { indexes, nextFreeAt };
  }

  private get daemon() {
    return this.view.daemon;
  }

  async place(slug: string): Promise<UserPlacement> {
    const prefix = this.config.network.subnetPrefix;
    const name = names.network(slug);
    for (let attempt = 0; attempt < 6; attempt += 1) {
      const known = this.view.network(name) ?? (await this.readNetwork(name));
      const index = subnetIndexOf(prefix, known?.subnet);
      if (known && index !== undefined) return this.placement(slug, index);
      if (known) throw new Error(`network ${name} exists with subnet ${known.subnet ?? "none"}, outside ${prefix}.0.0/16; remove it`);
      const held = this.quarantined();
      // Stale routes: the proxy caches upstreams (`.2` of a /24) for a while; a /24 freed moments ago would send
      // another user's cached requests to this user's app, so it stays unused for twice that cache.
      const free = nextFreeSubnetIndex(prefix, this.view.allNetworks(), [...this.reserved, ...held.indexes]);
      if (free === undefined) {
        if (held.nextFreeAt !== undefined) {
          this.log.info("waiting for a recently freed /24 to become reusable", { slug, waitMs: held.nextFreeAt - this.now() });
          await new Promise((resolve) => setTimeout(resolve, Math.max(0, held.nextFreeAt! - this.now()) + 5));
          continue;
        }
        if (await this.evictOneIdleUser(slug)) continue;
        throw new Error(`no free /24 left in ${prefix}.0.0/16 for user networks, and every user holding one has something running`);
      }
      this.reserved.add(free);
      const subnet = userSubnet(prefix, free);
      try {
        await this.daemon.call("POST", "/networks/create", {
          Name: name,
          Driver: "bridge",
          CheckDuplicate: true,
          Internal: false,
          Attachable: false,
          IPAM: { Driver: "default", Config: [{ Subnet: subnet.subnet, Gateway: subnet.gateway, IPRange: subnet.dynamicRange }] },
          Options: { "com.docker.network.bridge.name": names.bridge(slug), "com.docker.network.bridge.enable_icc": "false" },
          Labels: { [OWNER_LABEL]: slug },
        });
        this.log.info("user network created", { slug, network: name, subnet: subnet.subnet });
        this.view.setNetwork({ id: "", name, subnet: subnet.subnet, gateway: subnet.gateway });
        return this.placement(slug, free);
      } catch (error) {
        // 409: created meanwhile (another spawner); 403: the subnet overlaps one we did not know of.
        if (error instanceof DockerApiError && (error.status === 409 || error.status === 403)) {
          await this.view.sync();
          continue;
        }
        throw error;
      } finally {
        this.reserved.delete(free);
      }
    }
    throw new Error(`could not create network ${name}`);
  }

  /**
   * Frees a /24 held by a user with nothing running: removes their stopped containers and their network.
   * Nothing is lost: the app's state is on EFS and in the database, and the user's sandboxes come back
   * from their create records at the next start (the host-replacement path).
   */
  private async evictOneIdleUser(except: string): Promise<boolean> {
    const busy = new Set(
      this.view
        .all()
        .filter((c) => c.status === "running" || c.status === "paused" || c.status === "restarting")
        .map((c) => c.owner),
    );
    for (const network of this.view.allNetworks()) {
      const owner = /^oh-u-([a-z2-7]{16})$/.exec(network.name)?.[1];
      if (!owner || owner === except || busy.has(owner)) continue;
      for (const container of this.view.containersOf(owner)) {
        await this.daemon.call("DELETE", `/containers/${container.id}?force=1`);
        await this.view.refresh(container.id);
      }
      await this.daemon.call("DELETE", `/networks/${encodeURIComponent(network.name)}`);
      const index = subnetIndexOf(this.config.network.subnetPrefix, network.subnet);
      if (index !== undefined) this.reclaimed(index);
      await this.view.sync();
      this.log.info("idle user's network reclaimed", { slug: owner, network: network.name, subnet: network.subnet });
      return true;
    }
    return false;
  }

  private async readNetwork(name: string) {
    const body = await this.daemon.find<{ Id: string; Name: string; IPAM?: { Config?: Array<{ Subnet?: string; Gateway?: string }> } }>(
      `/networks/${encodeURIComponent(name)}`,
    );
    if (!body) return undefined;
    const config = body.IPAM?.Config?.[0];
    const state = {
      id: body.Id,
      name: body.Name,
      ...(config?.Subnet ? { subnet: config.Subnet } : {}),
      ...(config?.Gateway ? { gateway: config.Gateway } : {}),
    };
    this.view.setNetwork(state);
    return state;
  }

  private placement(slug: string, index: number): UserPlacement {
    const subnet = userSubnet(this.config.network.subnetPrefix, index);
    this.subnets.set(slug, subnet);
    return {
      slug,
      callbackAddress: subnet.gateway,
      sandboxHostAddress: subnet.gateway,
      sandboxUrlPattern: `http://${subnet.gateway}:{port}`,
    };
  }

  createBody(request: AppStartRequest): Record<string, unknown> {
    const { slug, placement, database, paths } = request;
    const cfg = this.config;
    const network = names.network(slug);
    const appAddress = this.subnets.get(slug)?.appAddress;
    const env = appEnvironment({
      slug,
      database,
      gateway: placement.callbackAddress,
      relayPort: cfg.network.relayPort,
      appHost: cfg.appHost,
      region: cfg.region,
      eventsBucket: cfg.eventsBucket,
      agentServerImage: cfg.images.agentServer,
      sandboxesPerUser: cfg.users.sandboxesPerUser,
      jwtSecret: userJwtSecret(cfg.secrets.openhandsJwtSecret, slug),
      openhandsVersion: openhandsVersion(cfg.images)!,
      sandboxStartupGraceSeconds: cfg.timing.sandboxStartupGraceSeconds,
    }).map(([key, value]) => `${key}=${value}`);
    return {
      Image: cfg.images.app,
      Env: env,
      Labels: { [OWNER_LABEL]: slug, "org.openhands-team.role": "app" },
      ExposedPorts: { [`${cfg.network.appPort}/tcp`]: {} },
      HostConfig: {
        NetworkMode: network,
        Binds: [`${paths.openhands}:${APP_STATE_DIR}:rw`, `${join(cfg.paths.dockerApiDir, slug)}:${APP_DOCKER_DIR}:ro`],
        // Restarts after a crash or a daemon restart; a culled (stopped) app stays stopped.
        RestartPolicy: { Name: "unless-stopped" },
        Memory: cfg.limits.appMemoryMiB * 1024 * 1024,
        NanoCpus: Math.round(cfg.limits.appCpus * 1e9),
        PidsLimit: cfg.limits.pidsLimit,
        Init: true,
      },
      NetworkingConfig: { EndpointsConfig: { [network]: appAddress ? { IPAMConfig: { IPv4Address: appAddress } } : {} } },
    };
  }

  async start(request: AppStartRequest): Promise<AppInstance> {
    const { slug } = request;
    const name = names.appContainer(slug);
    const body = this.createBody(request);
    const spec = createHash("sha256").update(JSON.stringify(body)).digest("hex").slice(0, 16);
    (body.Labels as Record<string, string>)[SPEC_LABEL] = spec;

    let current = await this.view.refresh(name);
    if (
      current &&
      current.labels[SPEC_LABEL] !== spec &&
      current.status !== "running" &&
      current.status !== "paused" &&
      current.status !== "restarting"
    ) {
      // Image or environment changed since this container was made (an upgrade): rebuild it while it is stopped.
      this.log.info("app container spec changed; recreating", { slug });
      await this.daemon.call("DELETE", `/containers/${current.id}?force=1`);
      current = undefined;
    }
    if (!current) {
      await this.create(name, body);
      current = await this.view.refresh(name);
    }
    if (!current) throw new Error(`app container ${name} vanished after create`);
    if (current.status === "paused") await this.daemon.call("POST", `/containers/${current.id}/unpause`);
    else if (current.status !== "running") await this.daemon.call("POST", `/containers/${current.id}/start`);
    current = await this.view.refresh(name);
    if (!current) throw new Error(`app container ${name} vanished after start`);
    return this.toInstance(current);
  }

  private async create(name: string, body: Record<string, unknown>) {
    const path = `/containers/create?name=${encodeURIComponent(name)}`;
    try {
      await this.daemon.call("POST", path, body);
    } catch (error) {
      if (error instanceof DockerApiError && error.status === 409) return; // created meanwhile: the same container
      if (error instanceof DockerApiError && error.status === 404 && /no such image/i.test(error.daemonMessage)) {
        this.log.warn("app image missing; pulling", { image: this.config.images.app });
        const colon = this.config.images.app.lastIndexOf(":");
        await this.daemon.call(
          "POST",
          `/images/create?fromImage=${encodeURIComponent(this.config.images.app.slice(0, colon))}&` +
            `tag=${encodeURIComponent(this.config.images.app.slice(colon + 1))}`,
        );
        await this.daemon.call("POST", path, body);
        return;
      }
      throw error;
    }
  }

  async stop(slug: string): Promise<void> {
    const current = this.view.app(slug);
    if (!current) return;
    if (current.status === "paused") await this.daemon.call("POST", `/containers/${current.id}/unpause`).catch(() => undefined);
    await this.daemon.call("POST", `/containers/${current.id}/stop?t=10`);
    await this.view.refresh(current.id);
  }

  private toInstance(state: ContainerState): AppInstance {
    const upstream = state.ip ? `http://${state.ip}:${this.config.network.appPort}` : undefined;
    const mapped: AppInstance["state"] =
      state.status === "running" ? "running" : state.status === "restarting" || state.status === "created" ? "starting" : "stopped";
    return { slug: state.owner, state: mapped, ...(upstream && mapped === "running" ? { upstream } : {}) };
  }

  get(slug: string): AppInstance | undefined {
    const state = this.view.app(slug);
    return state ? this.toInstance(state) : undefined;
  }

  list(): AppInstance[] {
    return this.view
      .all()
      .filter((c) => c.kind === "app")
      .map((c) => this.toInstance(c));
  }
}
