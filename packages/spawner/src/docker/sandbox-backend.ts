/** Users' sandboxes as Docker containers `oh-sbx-<slug>-<id>`, created by their apps through the filtered API. */
import { join } from "node:path";
import type { SandboxBackend, SandboxRoute, UserPlacement } from "../backends";
import type { SpawnerConfig } from "../config";
import type { MemoryBudget } from "../memory";
import type { Logger } from "../log";
import { names } from "../slug";
import type { UserPaths } from "../user-directories";
import { FilteredDockerEndpoint, type SandboxStartReservation } from "./api-endpoint";
import { reviewCreateText, type CreateContext } from "./api-policy";
import type { SandboxCreateRecords } from "./create-records";
import { DockerApiError } from "./engine-client";
import { routeKindForPort, type ContainerState, type DockerHostView } from "./host-view";

/**
 * The host-wide sandbox refusal as OpenHands shows it to the person starting a conversation (it repeats the Docker
 * error): what is full, what frees a place, and the setting for the admin.
 */
export function hostSandboxLimitMessage(max: number): string {
  return (
    `host capacity reached: ${max} sandboxes are running on this host (users.maxRunningSandboxes). ` +
    "Every open conversation keeps one running: stop conversations you no longer need (in the conversation list) " +
    "to free a place, or try again in a few minutes, when idle ones have been stopped"
  );
}

export class DockerSandboxBackend implements SandboxBackend {
  private readonly endpoints = new Map<string, FilteredDockerEndpoint>();
  private readonly routes = new Map<string, SandboxRoute>();
  private readonly routeKeysById = new Map<string, string[]>();
  private pendingStarts = 0;
  refusals = 0;
  /** Memory admission (src/memory.ts); absent: only the count limit applies. */
  memory: MemoryBudget | undefined;

  constructor(
    private readonly view: DockerHostView,
    private readonly config: SpawnerConfig,
    readonly records: SandboxCreateRecords,
    private readonly log: Logger,
  ) {
    view.onChange((state) => this.index(state));
  }

  /** Keeps the route table in step with the view: running sandboxes only, keyed by owner and published port. */
  private index(state: ContainerState) {
    for (const key of this.routeKeysById.get(state.id) ?? []) this.routes.delete(key);
    this.routeKeysById.delete(state.id);
    if (state.kind !== "sandbox" || state.status !== "running") return;
    const keys: string[] = [];
    for (const port of state.ports) {
      const upstream = state.ip ? `http://${state.ip}:${port.containerPort}` : `http://${port.hostIp}:${port.hostPort}`;
      const key = `${state.owner}:${port.hostPort}`;
      this.routes.set(key, {
        owner: state.owner,
        upstream,
        kind: routeKindForPort(port.containerPort),
        sessionKeySha256: state.sessionKeySha256 ?? null,
      });
      keys.push(key);
    }
    this.routeKeysById.set(state.id, keys);
  }

  resolve(owner: string, hostPort: number): SandboxRoute | undefined {
    return this.routes.get(`${owner}:${hostPort}`);
  }

  runningCount(): number {
    return this.view.all().filter((c) => c.kind === "sandbox" && c.status === "running").length;
  }

  owners(): string[] {
    return [
      ...new Set(
        this.view
          .all()
          .filter((c) => c.kind === "sandbox" && (c.status === "running" || c.status === "paused"))
          .map((c) => c.owner),
      ),
    ];
  }

  /** The host-wide count limit as a create sees it: no slot is held (the start that follows takes one). */
  sandboxCreateRefusal = (): string | undefined => {
    const max = this.config.users.maxRunningSandboxes;
    if (this.runningCount() + this.pendingStarts >= max) {
      this.refusals += 1;
      return hostSandboxLimitMessage(max);
    }
    // Host memory exhaustion: refused at create too, so no sandbox is left in created that could never start.
    const memoryRefusal = this.memory?.refusal("sandbox", this.pendingStarts * this.config.limits.sandboxMemoryMiB);
    if (memoryRefusal) this.refusals += 1;
    return memoryRefusal;
  };

  /**
   * The host-wide limit. A granted start holds a slot until the daemon's answer is in the view, so two
   * users starting at the same moment cannot both take the last slot.
   */
  reserveSandboxStart = (slug?: string): SandboxStartReservation => {
    const max = this.config.users.maxRunningSandboxes;
    if (this.runningCount() + this.pendingStarts >= max) {
      this.refusals += 1;
      return {
        ok: false,
        message: hostSandboxLimitMessage(max),
      };
    }
    // Host memory exhaustion: the sandboxes' limits together may not exceed what the host really has.
    // An unpause needs no new memory: one paused sandbox of this user is taken as the one resuming.
    const memoryRefusal = this.memory?.refusal(
      "sandbox",
      this.pendingStarts * this.config.limits.sandboxMemoryMiB,
      slug === undefined ? undefined : (c) => c.kind === "sandbox" && c.owner === slug && c.status === "paused",
    );
    if (memoryRefusal) {
      this.refusals += 1;
      return { ok: false, message: memoryRefusal };
    }
    this.pendingStarts += 1;
    let released = false;
    return {
      ok: true,
      done: async (containerId: string) => {
        if (released) return;
        released = true;
        try {
          await this.view.refresh(containerId);
        } finally {
          this.pendingStarts -= 1;
        }
      },
    };
  };

  createContext(slug: string, placement: UserPlacement, paths: UserPaths): CreateContext {
    return {
      slug,
      network: names.network(slug),
      gateway: placement.sandboxHostAddress,
      workspaceHostPath: paths.workspace,
      image: this.config.images.agentServer,
      memoryBytes: this.config.limits.sandboxMemoryMiB * 1024 * 1024,
      nanoCpus: Math.round(this.config.limits.sandboxCpus * 1e9),
      pidsLimit: this.config.limits.pidsLimit,
    };
  }

  socketPathFor(slug: string): string {
    return join(this.config.paths.dockerApiDir, slug, "docker.sock");
  }

  async open(slug: string, placement: UserPlacement, paths: UserPaths): Promise<void> {
    const context = this.createContext(slug, placement, paths);
    if (!this.endpoints.has(slug)) {
      const endpoint = new FilteredDockerEndpoint({
        slug,
        socketPath: this.socketPathFor(slug),
        daemon: this.view.daemon,
        createContext: context,
        records: this.records,
        reserveSandboxStart: () => this.reserveSandboxStart(slug),
        sandboxCreateRefusal: this.sandboxCreateRefusal,
        containerCount: () => this.view.containersOf(slug).filter((c) => c.kind === "sandbox").length,
        maxContainers: this.config.users.maxSandboxContainersPerUser,
        created: async (id) => {
          await this.view.refresh(id);
        },
        log: this.log.child({ component: "docker-filter", slug }),
        onRefusal: () => undefined,
      });
      this.endpoints.set(slug, endpoint);
      try {
        await endpoint.listen();
      } catch (error) {
        this.endpoints.delete(slug);
        throw error;
      }
    }
    await this.restore(slug, context);
  }

  /**
   * Recreates recorded sandboxes that this host does not have (a replacement host), from the recorded
   * creates through the same review as live ones. Each is started once and stopped, because OpenHands
   * resumes `exited` and `paused` containers but leaves a never-started (`created`) one STARTING forever.
   */
  async restore(slug: string, context: CreateContext): Promise<number> {
    let restored = 0;
    for (const record of this.records.list(slug)) {
      if (await this.view.refresh(record.name)) continue;
      // A record is replayed only through the same review as a live create (it may have been edited on EFS).
      const review = reviewCreateText(record.name, JSON.stringify(record.body), context);
      if (!review.ok) {
        this.log.warn("recorded sandbox refused on restore", { slug, name: record.name, reason: review.message });
        continue;
      }
      try {
        const created = await this.view.daemon.call<{ Id: string }>(
          "POST",
          `/containers/create?name=${encodeURIComponent(record.name)}`,
          review.body,
        );
        if (!created?.Id) continue;
        try {
          await this.view.daemon.call("POST", `/containers/${created.Id}/start`);
          await this.view.daemon.call("POST", `/containers/${created.Id}/stop?t=1`);
        } catch (error) {
          this.log.warn("restored sandbox left in state created", { slug, name: record.name, error: (error as Error).message });
        }
        await this.view.refresh(created.Id);
        restored += 1;
        this.log.info("sandbox restored from its create record", { slug, name: record.name });
      } catch (error) {
        if (error instanceof DockerApiError && error.status === 409) continue;
        this.log.error("sandbox restore failed", { slug, name: record.name, error: (error as Error).message });
      }
    }
    return restored;
  }

  async close(slug: string): Promise<void> {
    const endpoint = this.endpoints.get(slug);
    this.endpoints.delete(slug);
    await endpoint?.close();
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.endpoints.keys()].map((slug) => this.close(slug)));
  }

  async stopAll(slug: string): Promise<number> {
    let stopped = 0;
    for (const sandbox of this.view.containersOf(slug)) {
      if (sandbox.kind !== "sandbox" || (sandbox.status !== "running" && sandbox.status !== "paused")) continue;
      try {
        if (sandbox.status === "paused") await this.view.daemon.call("POST", `/containers/${sandbox.id}/unpause`);
        await this.view.daemon.call("POST", `/containers/${sandbox.id}/stop?t=10`);
        await this.view.refresh(sandbox.id);
        stopped += 1;
      } catch (error) {
        this.log.warn("sandbox stop failed", { slug, name: sandbox.name, error: (error as Error).message });
      }
    }
    return stopped;
  }

  isOpen(slug: string): boolean {
    return this.endpoints.has(slug);
  }
}
