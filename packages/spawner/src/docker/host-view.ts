/**
 * The spawner's picture of the host, rebuilt from Docker on start and kept current from Docker's event
 * stream (never by polling per request). It holds only what Docker can tell again after a crash.
 */
import { createHash } from "node:crypto";
import type { Logger } from "../log";
import { roleOfContainer } from "../slug";
import type { DockerEngineClient } from "./engine-client";

export type RouteKind = "agent-server" | "vscode" | "worker" | "unknown";

export interface PublishedPort {
  containerPort: number;
  hostIp: string;
  hostPort: number;
}

export interface ContainerState {
  id: string;
  name: string;
  kind: "app" | "sandbox";
  owner: string;
  /** Docker's State.Status: created, running, paused, restarting, removing, exited, dead. */
  status: string;
  ip?: string;
  ports: PublishedPort[];
  sessionKeySha256?: string;
  image: string;
  labels: Record<string, string>;
  /** HostConfig.Memory (0: no limit); memory admission sums these (src/memory.ts). */
  memoryBytes?: number;
}

export interface NetworkState {
  id: string;
  name: string;
  subnet?: string;
  gateway?: string;
}

type NetworkListItem = { Id: string; Name: string; IPAM?: { Config?: Array<{ Subnet?: string; Gateway?: string }> } };

/**
 * Container events that change what the view holds. Health probes are execs (exec_create, exec_start,
 * exec_die, health_status): following those would be one inspect per probe.
 */
const STATE_EVENTS = new Set([
  "create",
  "start",
  "restart",
  "die",
  "stop",
  "kill",
  "oom",
  "pause",
  "unpause",
  "rename",
  "update",
  "destroy",
]);

interface InspectBody {
  Id: string;
  Name: string;
  Config?: { Image?: string; Env?: string[]; Labels?: Record<string, string> };
  State?: { Status?: string };
  HostConfig?: { Memory?: number };
  NetworkSettings?: {
    Ports?: Record<string, Array<{ HostIp: string; HostPort: string }> | null>;
    Networks?: Record<string, { IPAddress?: string }>;
  };
}

const KIND_BY_PORT: Record<number, RouteKind> = { 8000: "agent-server", 8001: "vscode", 8011: "worker", 8012: "worker" };
export const routeKindForPort = (containerPort: number): RouteKind => KIND_BY_PORT[containerPort] ?? "unknown";

export function toContainerState(body: InspectBody): ContainerState | undefined {
  const role = roleOfContainer(body.Name ?? "");
  if (!role) return undefined;
  const env = body.Config?.Env ?? [];
  const key = env.find((entry) => entry.startsWith("OH_SESSION_API_KEYS_0="))?.slice("OH_SESSION_API_KEYS_0=".length);
  const ports: PublishedPort[] = [];
  for (const [spec, bindings] of Object.entries(body.NetworkSettings?.Ports ?? {})) {
    const containerPort = Number(spec.split("/")[0]);
    for (const binding of bindings ?? []) {
      const hostPort = Number(binding.HostPort);
      if (Number.isInteger(hostPort) && hostPort > 0) ports.push({ containerPort, hostIp: binding.HostIp, hostPort });
    }
  }
  const ip = Object.values(body.NetworkSettings?.Networks ?? {}).find((n) => n.IPAddress)?.IPAddress;
  return {
    id: body.Id,
    name: body.Name.replace(/^\//, ""),
    kind: role.kind,
    owner: role.owner,
    status: body.State?.Status ?? "unknown",
    ...(ip ? { ip } : {}),
    ports,
    ...(key ? { sessionKeySha256: createHash("sha256").update(key, "utf8").digest("hex") } : {}),
    image: body.Config?.Image ?? "",
    labels: body.Config?.Labels ?? {},
    ...(typeof body.HostConfig?.Memory === "number" ? { memoryBytes: body.HostConfig.Memory } : {}),
  };
}

export class DockerHostView {
  private readonly containers = new Map<string, ContainerState>();
  private readonly networks = new Map<string, NetworkState>();
  /** owner → Id of their app container, for the hot path of ensure. */
  private readonly appIds = new Map<string, string>();
  private refreshCounter = 0;
  private networkRefresh: Promise<void> | undefined;
  private networkRefreshQueued = false;
  private readonly appliedSeq = new Map<string, number>();
  private events: { close(): void } | undefined;
  private stopped = false;
  private resyncTimer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<(state: ContainerState, previous: ContainerState | undefined) => void>();
  private readonly networkGoneListeners = new Set<(state: NetworkState) => void>();
  eventsSeen = 0;
  /** Whether the event stream is open (false between a broken stream and its reconnect); reported by /healthz. */
  eventsFollowing = false;

  constructor(
    readonly daemon: DockerEngineClient,
    private readonly log: Logger,
  ) {}

  /** Rebuilds the whole view from Docker. */
  async sync(): Promise<void> {
    const list =
      (await this.daemon.call<Array<{ Id: string; Names?: string[] }>>(
        "GET",
        `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ name: ["^/oh-(app|sbx)-"] }))}`,
      )) ?? [];
    const seen = new Set<string>();
    for (const item of list) {
      if (!item.Names?.some((n) => roleOfContainer(n))) continue;
      seen.add(item.Id);
      // One failing inspect does not stop the resync; refresh has treated that container as gone.
      await this.refresh(item.Id).catch((error: Error) =>
        this.log.warn("container inspect failed during resync", { id: item.Id, error: error.message }),
      );
    }
    for (const id of [...this.containers.keys()]) if (!seen.has(id)) this.forget(id);
    const networks = (await this.daemon.call<NetworkListItem[]>("GET", "/networks")) ?? [];
    this.replaceNetworks(networks);
  }

  /** Takes a fresh network listing; networks that went away are reported (their /24 is then held back). */
  private replaceNetworks(list: NetworkListItem[]) {
    const before = new Map(this.networks);
    this.networks.clear();
    for (const n of list) {
      const config = n.IPAM?.Config?.[0];
      this.networks.set(n.Name, {
        id: n.Id,
        name: n.Name,
        ...(config?.Subnet ? { subnet: config.Subnet } : {}),
        ...(config?.Gateway ? { gateway: config.Gateway } : {}),
      });
    }
    for (const [name, state] of before) if (!this.networks.has(name)) for (const listener of this.networkGoneListeners) listener(state);
  }

  onNetworkGone(listener: (state: NetworkState) => void): void {
    this.networkGoneListeners.add(listener);
  }

  /** Re-reads one container (by Id or name) into the view; a 404 removes it. */
  async refresh(ref: string): Promise<ContainerState | undefined> {
    // Inspects overlap (events and explicit refreshes): an answer older than one already applied is dropped.
    const seq = ++this.refreshCounter;
    let body: InspectBody | undefined;
    let failure: Error | undefined;
    try {
      body = await this.daemon.find<InspectBody>(`/containers/${encodeURIComponent(ref)}/json`);
    } catch (error) {
      // Stale "running" after missed events: a container the engine cannot describe is treated as gone until it can.
      failure = error as Error;
    }
    if (!body) {
      for (const [id, state] of this.containers) {
        if ((id === ref || state.name === ref) && (this.appliedSeq.get(id) ?? 0) < seq) this.forget(id);
      }
      if (failure) throw failure;
      return undefined;
    }
    const state = toContainerState(body);
    if (!state) return undefined;
    if ((this.appliedSeq.get(state.id) ?? 0) > seq) return this.containers.get(state.id);
    this.appliedSeq.set(state.id, seq);
    const previous = this.containers.get(state.id);
    this.containers.set(state.id, state);
    if (state.kind === "app") this.appIds.set(state.owner, state.id);
    for (const listener of this.listeners) listener(state, previous);
    return state;
  }

  private forget(id: string) {
    const previous = this.containers.get(id);
    if (!previous) return;
    this.containers.delete(id);
    this.appliedSeq.delete(id);
    if (previous.kind === "app" && this.appIds.get(previous.owner) === id) this.appIds.delete(previous.owner);
    const gone = { ...previous, status: "removed", ports: [] };
    for (const listener of this.listeners) listener(gone, previous);
  }

  onChange(listener: (state: ContainerState, previous: ContainerState | undefined) => void): void {
    this.listeners.add(listener);
  }

  /** Follows Docker's events; on a broken stream it reconnects and resyncs, since events may have been missed. */
  startEvents(): void {
    this.stopped = false;
    const filters = encodeURIComponent(JSON.stringify({ type: ["container", "network"] }));
    const connect = () => {
      if (this.stopped) return;
      this.eventsFollowing = true;
      this.events = this.daemon.stream(
        `/events?filters=${filters}`,
        (event) => this.onEvent(event),
        (error) => {
          this.eventsFollowing = false;
          if (this.stopped) return;
          this.log.warn("docker event stream ended; resyncing", { error: error?.message });
          // Missed events while the engine was unreachable: the whole view is listed again before following events.
          this.resyncTimer = setTimeout(() => {
            this.sync()
              .then(() => this.log.info("view resynced from docker", { containers: this.containers.size }))
              .catch((err: Error) => this.log.warn("resync failed; retrying", { error: err.message }))
              .finally(connect);
          }, 1000);
        },
      );
    };
    connect();
  }

  stopEvents(): void {
    this.stopped = true;
    this.eventsFollowing = false;
    if (this.resyncTimer) clearTimeout(this.resyncTimer);
    this.events?.close();
  }

  private onEvent(event: Record<string, unknown>) {
    this.eventsSeen += 1;
    const actor = event.Actor as { ID?: string; Attributes?: Record<string, string> } | undefined;
    const id = actor?.ID;
    if (!id) return;
    if (event.Type === "network") {
      this.refreshNetworks();
      return;
    }
    const name = actor.Attributes?.name ?? "";
    if (!roleOfContainer(name)) return;
    // Event flood: a healthcheck probe every second would otherwise be an inspect every second.
    if (typeof event.Action !== "string" || !STATE_EVENTS.has(event.Action)) return;
    if (event.Action === "destroy") {
      this.forget(id);
      return;
    }
    this.refresh(id).catch((error: Error) => this.log.warn("container refresh failed", { id, error: error.message }));
  }

  /** Coalesces bursts of network events into at most one listing in flight and one queued. */
  private refreshNetworks(): void {
    if (this.networkRefresh) {
      this.networkRefreshQueued = true;
      return;
    }
    this.networkRefresh = this.daemon
      .call<NetworkListItem[]>("GET", "/networks")
      .then((list) => this.replaceNetworks(list ?? []))
      .catch((error: Error) => this.log.warn("network refresh failed", { error: error.message }))
      .finally(() => {
        this.networkRefresh = undefined;
        if (this.networkRefreshQueued) {
          this.networkRefreshQueued = false;
          this.refreshNetworks();
        }
      });
  }

  containersOf(owner: string): ContainerState[] {
    return [...this.containers.values()].filter((c) => c.owner === owner);
  }
  app(owner: string): ContainerState | undefined {
    const id = this.appIds.get(owner);
    return id ? this.containers.get(id) : undefined;
  }
  all(): ContainerState[] {
    return [...this.containers.values()];
  }
  network(name: string): NetworkState | undefined {
    return this.networks.get(name);
  }
  allNetworks(): NetworkState[] {
    return [...this.networks.values()];
  }
  setNetwork(state: NetworkState): void {
    this.networks.set(state.name, state);
  }
}
