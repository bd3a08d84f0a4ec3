/**
 * Where users' apps and sandboxes run. Docker on this host is the first implementation; an ECS backend
 * would implement the same interfaces, and nothing that calls them (the control API, culling, the proxy's
 * route lookups) would change.
 */
import type { UserDatabase } from "./database";
import type { UserPaths } from "./user-directories";

export type RouteKind = "agent-server" | "vscode" | "worker" | "unknown";

/** Where a user's containers live, decided before the app starts. */
export interface UserPlacement {
  slug: string;
  /** Address the user's sandboxes reach their callbacks on (the relay listens here). ECS: the host's private address. */
  callbackAddress: string;
  /**
   * `OH_SANDBOX_CONTAINER_URL_PATTERN` for the user's app. ECS: not given to the app (the remote sandbox service reads
   * no pattern); the shape of the sandbox URLs the sandbox API answers, `http://{port}-<slug>.<sandbox domain>`.
   */
  sandboxUrlPattern: string;
  /** `host.docker.internal` as the user's sandboxes see it. ECS: the host's private address. */
  sandboxHostAddress: string;
}

export interface AppInstance {
  slug: string;
  /** running, starting, stopped, missing (backend-neutral). */
  state: "running" | "starting" | "stopped" | "missing";
  /** URL of the app's HTTP server, always a URL (never an assumed localhost). */
  upstream?: string;
}

export interface AppStartRequest {
  slug: string;
  placement: UserPlacement;
  database: UserDatabase;
  paths: UserPaths;
}

export interface AppBackend {
  /** Prepares the user's place on the host (for Docker: the user's bridge network) and says where things are. */
  place(slug: string): Promise<UserPlacement>;
  /** Creates (or re-creates after a spec change) and starts the app; resolves once it runs, not once healthy. */
  start(request: AppStartRequest): Promise<AppInstance>;
  stop(slug: string): Promise<void>;
  get(slug: string): AppInstance | undefined;
  list(): AppInstance[];
}

export interface SandboxRoute {
  owner: string;
  upstream: string;
  kind: RouteKind;
  sessionKeySha256: string | null;
}

export interface SandboxBackend {
  /** Opens the user's sandbox control (for Docker: the filtered API socket) and restores recorded sandboxes. */
  open(slug: string, placement: UserPlacement, paths: UserPaths): Promise<void>;
  close(slug: string): Promise<void>;
  /** Stops every running or paused sandbox of the user. */
  stopAll(slug: string): Promise<number>;
  /** Route for a runtime host `<hostPort>-<owner>.<runtime domain>`, if a running sandbox of that owner publishes it. */
  resolve(owner: string, hostPort: number): SandboxRoute | undefined;
  runningCount(): number;
  /** Owners with running sandboxes. */
  owners(): string[];
}
