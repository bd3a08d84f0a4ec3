/**
 * Wires the spawner together from a validated configuration; used by main.ts, the tests and the bench.
 * `startSpawnerService`: users' apps and sandboxes as containers on this host's Docker engine (the default).
 * `startEcsSpawnerService`: as Fargate tasks (docs/ecs.md; the ECS parts live in src/ecs/service-backends.ts).
 * Both share the core below: the user databases and folders, the Spawner, the control API and the cull timer.
 */
import type { AddressInfo } from "node:net";
import type { ECSClient } from "@aws-sdk/client-ecs";
import { llmUserKey } from "@openhands-team/contracts";
import { createControlApi } from "./api";
import type { AppBackend, SandboxBackend } from "./backends";
import { readSecret, type SpawnerConfig } from "./config";
import { adminTls, UserDatabases, type UserDatabase } from "./database";
import { DockerAppBackend } from "./docker/app-backend";
import { SandboxCreateRecords } from "./docker/create-records";
import { DockerEngineClient } from "./docker/engine-client";
import { DockerHostView } from "./docker/host-view";
import { DockerSandboxBackend } from "./docker/sandbox-backend";
import type { EcsAppBackend } from "./ecs/app-backend";
import type { SharedWebhookRelay } from "./ecs/relay-shared-listener";
import type { EcsSandboxBackend, EcsSandboxBackendOptions } from "./ecs/sandbox-backend";
import type { EcsUserResourceResolvers } from "./ecs/service-backends";
import { createLogger, type Logger } from "./log";
import { HealthChecks, type Probe } from "./health";
import { MemoryBudget, memoryBudgetMiB } from "./memory";
import { WebhookRelay } from "./relay";
import { Spawner } from "./spawner";
import { UserDirectories, userPaths } from "./user-directories";

export interface SpawnerService {
  readonly apiUrl: string;
  readonly spawner: Spawner;
  readonly view: DockerHostView;
  readonly apps: DockerAppBackend;
  readonly sandboxes: DockerSandboxBackend;
  readonly relay: WebhookRelay;
  close(): Promise<void>;
}

/** The spawner in ECS mode: the same core over the ECS backends and the one relay listener of every user. */
export interface EcsSpawnerService {
  readonly apiUrl: string;
  readonly spawner: Spawner;
  readonly apps: EcsAppBackend;
  readonly sandboxes: EcsSandboxBackend;
  readonly relay: SharedWebhookRelay;
  /** Stops the listeners and refreshes; every task keeps running (a new instance finds them in ECS). */
  close(): Promise<void>;
}

/** The gateway's model name as OpenHands must name it: LiteLLM's `litellm_proxy/` provider routes it to the gateway. */
export function seededModel(gatewayModel: string): string {
  return gatewayModel.startsWith("litellm_proxy/") ? gatewayModel : `litellm_proxy/${gatewayModel}`;
}

/** The users' databases: PostgreSQL provisioning, or what a test puts in its place. */
export interface ServiceDatabases {
  ensure(slug: string): Promise<UserDatabase>;
  describe(slug: string): UserDatabase;
  ping?(): Promise<void>;
  close(): Promise<void>;
}

export interface SpawnerServiceOptions {
  log?: Logger;
  /** Replaces the PostgreSQL provisioning (tests and benches that do not exercise the database). */
  databases?: ServiceDatabases;
}

export interface EcsSpawnerServiceOptions extends SpawnerServiceOptions {
  /**
   * The users' ECS-side resources (access points, app secret, sandbox task role), made before a user's first task.
   * Default: EcsUserResources (src/ecs/user-resources.ts) over EFS, IAM and Secrets Manager (`config.ecs.userResources`).
   */
  resources?: EcsUserResourceResolvers;
  /** The ECS client (tests: static credentials for the stand-in). Default: built from `config.ecs` and the SDK's credential chain. */
  client?: ECSClient;
  /** Sandbox task settings other than the defaults (tests: small tasks, short stops, quick refreshes). */
  sandboxTuning?: Partial<Pick<EcsSandboxBackendOptions, "taskSize" | "stopTimeoutSeconds" | "refreshIntervalMs" | "freshnessMs">>;
}

/** What a compute backend hands the shared core. */
export interface ServiceParts<A extends AppBackend, S extends SandboxBackend, R extends WebhookRelay> {
  apps: A;
  sandboxes: S;
  relay: R;
  /** Memory admission; absent where the host does not hold users' apps and sandboxes (ECS). */
  memory?: MemoryBudget;
  /** The LLM gateway as users' apps and sandboxes reach it. */
  llmBaseUrl: string;
  /** /healthz probes; `database` is the database ping when there is one. */
  probes(database: Probe | undefined): Record<string, Probe>;
  stats(): Record<string, number>;
  /** Builds the view reconcile reads and starts following it; `appStopped` is the core's handler. */
  start(appStopped: (slug: string) => void): Promise<void>;
  close(): Promise<void>;
}

/** Builds a backend's parts; `touch` counts a user's activity (the relay's forwarded requests). */
export type PartsFactory<A extends AppBackend, S extends SandboxBackend, R extends WebhookRelay> = (
  touch: (slug: string) => void,
  log: Logger,
  databases: ServiceDatabases,
) => Promise<ServiceParts<A, S, R>>;

/** Users' apps and sandboxes as containers on this host's Docker engine. */
export async function startSpawnerService(config: SpawnerConfig, options: SpawnerServiceOptions = {}): Promise<SpawnerService> {
  if (config.backend === "ecs") throw new Error('config.backend is "ecs": startEcsSpawnerService serves it, not the Docker service');
  let view: DockerHostView | undefined;
  const core = await startCore(config, options, async (touch, log) => {
    const daemon = new DockerEngineClient(config.docker.socketPath, config.timing.dockerTimeoutMs);
    const docker = new DockerHostView(daemon, log.child({ component: "docker-view" }));
    view = docker;
    const apps = new DockerAppBackend(docker, config, log.child({ component: "apps" }));
    const records = new SandboxCreateRecords((slug) => userPaths(config.paths.efsRoot, slug).sandboxRecords);
    const sandboxes = new DockerSandboxBackend(docker, config, records, log.child({ component: "sandboxes" }));
    const memory = new MemoryBudget(memoryBudgetMiB(config), docker, {
      appMiB: config.limits.appMemoryMiB,
      sandboxMiB: config.limits.sandboxMemoryMiB,
    });
    sandboxes.memory = memory;
    const relay = new WebhookRelay(config.network.relayPort, log.child({ component: "relay" }), touch);
    // /healthz: each dependency with a short bound of its own (a hung engine answers "no answer", not a hung health check).
    const pingDaemon = new DockerEngineClient(config.docker.socketPath, config.health.timeoutMs);
    return {
      apps,
      sandboxes,
      relay,
      memory,
      llmBaseUrl: `http://host.docker.internal:${config.network.llmGatewayPort}`,
      probes: (database) => ({
        docker: async () => {
          const answer = await pingDaemon.raw("GET", "/_ping");
          if (answer.status !== 200) throw new Error(`docker GET /_ping answered ${answer.status}`);
        },
        // A replaced provisioning (tests, benches) without a ping has no database to report.
        ...(database ? { database } : {}),
        events: () => {
          if (!docker.eventsFollowing) throw new Error("the docker event stream is not connected (reconnecting)");
        },
      }),
      stats: () => ({
        sandboxRefusals: sandboxes.refusals,
        dockerEventsSeen: docker.eventsSeen,
        memoryBudgetMiB: memory.budgetMiB,
        memoryUsedMiB: memory.usedMiB(),
      }),
      start: async (appStopped) => {
        docker.onChange((state) => {
          if (state.kind === "app" && state.status !== "running") appStopped(state.owner);
        });
        await docker.sync();
        docker.startEvents();
      },
      close: async () => {
        docker.stopEvents();
        await relay.closeAll();
        await sandboxes.closeAll();
      },
    };
  });
  return { ...core, view: view! };
}

/**
 * Users' apps and sandboxes as Fargate tasks (docs/ecs.md): the ECS backends, the one relay listener, health from ECS
 * itself. The AWS SDK is loaded here only, so a docker-mode start never loads it.
 */
export async function startEcsSpawnerService(config: SpawnerConfig, options: EcsSpawnerServiceOptions): Promise<EcsSpawnerService> {
  const { ecsServiceParts } = await import("./ecs/service-backends");
  return startCore(config, options, (touch, log, databases) =>
    ecsServiceParts(config, {
      touch,
      log,
      databases,
      ...(options.resources ? { resources: options.resources } : {}),
      ...(options.client ? { client: options.client } : {}),
      ...(options.sandboxTuning ? { sandboxTuning: options.sandboxTuning } : {}),
    }),
  );
}

async function startCore<A extends AppBackend, S extends SandboxBackend, R extends WebhookRelay>(
  config: SpawnerConfig,
  options: SpawnerServiceOptions,
  makeParts: PartsFactory<A, S, R>,
): Promise<{ apiUrl: string; spawner: Spawner; apps: A; sandboxes: S; relay: R; close(): Promise<void> }> {
  const log = options.log ?? createLogger({ level: config.logLevel, base: { service: "spawner" } });
  const databases =
    options.databases ??
    new UserDatabases(
      {
        host: config.database.host,
        port: config.database.port,
        user: config.database.adminUser,
        password: config.database.adminPassword,
        database: config.database.adminDatabase,
        timeoutMs: config.timing.databaseTimeoutMs,
        ...(adminTls(config.database.tls) ? { ssl: adminTls(config.database.tls)! } : {}),
        ...(config.database.appHost ? { appHost: config.database.appHost } : {}),
        // A rotated master password: the host rewrites the file, the spawner reads it again on a refused login.
        ...(config.database.adminPasswordFile
          ? { rereadPassword: () => readSecret({ file: config.database.adminPasswordFile! }, "config.database.adminPassword") }
          : {}),
      },
      config.secrets.dbPasswordKey,
      log.child({ component: "database" }),
    );
  let spawner: Spawner | undefined;
  let parts: ServiceParts<A, S, R>;
  try {
    parts = await makeParts((slug) => spawner?.touch(slug), log, databases);
  } catch (error) {
    // A refused start-up (a missing ECS setting, say) leaves no database pool open behind it.
    await databases.close().catch(() => undefined);
    throw error;
  }
  const { apps, sandboxes, relay, memory } = parts;
  const directories = new UserDirectories(config.paths.efsRoot, config.workspaceUid, log.child({ component: "efs" }));
  spawner = new Spawner({
    apps,
    sandboxes,
    databases,
    directories,
    relay,
    log,
    runtimeDomain: config.runtimeDomain,
    maxRunningApps: config.users.maxRunningApps,
    ...(memory ? { memory } : {}),
    idleMs: config.users.idleMinutes * 60_000,
    healthTimeoutMs: config.timing.healthTimeoutMs,
    healthIntervalMs: config.timing.healthIntervalMs,
    // Each person gets their own key (docs/CONTRACTS.md, "LLM gateway keys"); the master key never reaches a container.
    llm: {
      model: seededModel(config.llm.model),
      baseUrl: parts.llmBaseUrl,
      keyFor: (slug) => llmUserKey(config.secrets.llmGatewayKey, slug),
    },
  });
  const core = spawner;
  try {
    await parts.start((slug) => core.appStopped(slug));
  } catch (error) {
    await parts.close().catch(() => undefined);
    await databases.close().catch(() => undefined);
    throw error;
  }
  core.reconcile();

  // /healthz: each dependency with a short bound of its own (a hung engine or database answers "no answer", not a hung health check).
  const health = new HealthChecks(parts.probes(databases.ping ? () => databases.ping!() : undefined), config.health.timeoutMs);

  const api = createControlApi({
    health: () => health.report(),
    spawner: core,
    log: log.child({ component: "api" }),
    ensureWaitMs: config.timing.ensureWaitMs,
    extraStats: () => parts.stats(),
  });
  await new Promise<void>((resolve, reject) => {
    api.once("error", reject);
    api.listen(config.api.port, config.api.host, () => resolve());
  });
  const address = api.address() as AddressInfo;
  const cullTimer = setInterval(() => {
    core.cullIdle().catch((error: Error) => log.error("cull pass failed", { error: error.message }));
  }, config.timing.cullIntervalMs);
  cullTimer.unref();
  log.info("spawner listening", {
    address: address.address,
    port: address.port,
    backend: config.backend,
    ...(memory ? { memoryBudgetMiB: memory.budgetMiB } : {}),
  });

  return {
    apiUrl: `http://${address.address}:${address.port}`,
    spawner: core,
    apps,
    sandboxes,
    relay,
    close: async () => {
      clearInterval(cullTimer);
      api.closeAllConnections();
      await new Promise<void>((resolve) => api.close(() => resolve()));
      await parts.close();
      await databases.close();
    },
  };
}
