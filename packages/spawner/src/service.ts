/** Wires the spawner together from a validated configuration; used by main.ts, the tests and the bench. */
import type { AddressInfo } from "node:net";
import { llmUserKey } from "@openhands-team/contracts";
import { createControlApi } from "./api";
import { readSecret, type SpawnerConfig } from "./config";
import { adminTls, UserDatabases, type UserDatabase } from "./database";
import { DockerAppBackend } from "./docker/app-backend";
import { SandboxCreateRecords } from "./docker/create-records";
import { DockerEngineClient } from "./docker/engine-client";
import { DockerHostView } from "./docker/host-view";
import { DockerSandboxBackend } from "./docker/sandbox-backend";
import { createLogger, type Logger } from "./log";
import { HealthChecks } from "./health";
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

/** The gateway's model name as OpenHands must name it: LiteLLM's `litellm_proxy/` provider routes it to the gateway. */
export function seededModel(gatewayModel: string): string {
  return gatewayModel.startsWith("litellm_proxy/") ? gatewayModel : `litellm_proxy/${gatewayModel}`;
}

export interface SpawnerServiceOptions {
  log?: Logger;
  /** Replaces the PostgreSQL provisioning (tests and benches that do not exercise the database). */
  databases?: {
    ensure(slug: string): Promise<UserDatabase>;
    describe(slug: string): UserDatabase;
    ping?(): Promise<void>;
    close(): Promise<void>;
  };
}

export async function startSpawnerService(config: SpawnerConfig, options: SpawnerServiceOptions = {}): Promise<SpawnerService> {
  const log = options.log ?? createLogger({ level: config.logLevel, base: { service: "spawner" } });
  const daemon = new DockerEngineClient(config.docker.socketPath, config.timing.dockerTimeoutMs);
  const view = new DockerHostView(daemon, log.child({ component: "docker-view" }));
  const apps = new DockerAppBackend(view, config, log.child({ component: "apps" }));
  const records = new SandboxCreateRecords((slug) => userPaths(config.paths.efsRoot, slug).sandboxRecords);
  const sandboxes = new DockerSandboxBackend(view, config, records, log.child({ component: "sandboxes" }));
  const memory = new MemoryBudget(memoryBudgetMiB(config), view, {
    appMiB: config.limits.appMemoryMiB,
    sandboxMiB: config.limits.sandboxMemoryMiB,
  });
  sandboxes.memory = memory;
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
  const directories = new UserDirectories(config.paths.efsRoot, config.workspaceUid, log.child({ component: "efs" }));
  let spawner: Spawner | undefined;
  const relay = new WebhookRelay(config.network.relayPort, log.child({ component: "relay" }), (slug) => spawner?.touch(slug));
  spawner = new Spawner({
    apps,
    sandboxes,
    databases,
    directories,
    relay,
    log,
    runtimeDomain: config.runtimeDomain,
    maxRunningApps: config.users.maxRunningApps,
    memory,
    idleMs: config.users.idleMinutes * 60_000,
    healthTimeoutMs: config.timing.healthTimeoutMs,
    healthIntervalMs: config.timing.healthIntervalMs,
    // Each person gets their own key (docs/CONTRACTS.md, "LLM gateway keys"); the master key never reaches a container.
    llm: {
      model: seededModel(config.llm.model),
      baseUrl: `http://host.docker.internal:${config.network.llmGatewayPort}`,
      keyFor: (slug) => llmUserKey(config.secrets.llmGatewayKey, slug),
    },
  });
  const core = spawner;
  view.onChange((state) => {
    if (state.kind === "app" && state.status !== "running") core.appStopped(state.owner);
  });

  await view.sync();
  view.startEvents();
  core.reconcile();

  // /healthz: each dependency with a short bound of its own (a hung engine or database answers "no answer", not a hung health check).
  const healthTimeoutMs = config.health.timeoutMs;
  const pingDaemon = new DockerEngineClient(config.docker.socketPath, healthTimeoutMs);
  const health = new HealthChecks(
    {
      docker: async () => {
        const answer = await pingDaemon.raw("GET", "/_ping");
        if (answer.status !== 200) throw new Error(`docker GET /_ping answered ${answer.status}`);
      },
      // A replaced provisioning (tests, benches) without a ping has no database to report.
      ...(databases.ping ? { database: () => databases.ping!() } : {}),
      events: () => {
        if (!view.eventsFollowing) throw new Error("the docker event stream is not connected (reconnecting)");
      },
    },
    healthTimeoutMs,
  );

  const api = createControlApi({
    health: () => health.report(),
    spawner: core,
    log: log.child({ component: "api" }),
    ensureWaitMs: config.timing.ensureWaitMs,
    extraStats: () => ({
      sandboxRefusals: sandboxes.refusals,
      dockerEventsSeen: view.eventsSeen,
      memoryBudgetMiB: memory.budgetMiB,
      memoryUsedMiB: memory.usedMiB(),
    }),
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
  log.info("spawner listening", { address: address.address, port: address.port, memoryBudgetMiB: memory.budgetMiB });

  return {
    apiUrl: `http://${address.address}:${address.port}`,
    spawner: core,
    view,
    apps,
    sandboxes,
    relay,
    close: async () => {
      clearInterval(cullTimer);
      view.stopEvents();
      api.closeAllConnections();
      await new Promise<void>((resolve) => api.close(() => resolve()));
      await relay.closeAll();
      await sandboxes.closeAll();
      await databases.close();
    },
  };
}
