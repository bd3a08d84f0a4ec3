/**
 * ECS mode's part of the spawner service (src/service.ts, `startEcsSpawnerService`): the app and sandbox backends,
 * the one relay listener of every user, and what /healthz checks. What ECS mode leaves out, and why:
 * - no memory budget: Fargate sizes each task (`ecs.appCpu`/`appMemoryMiB`, the sandbox task size), the host holds
 *   none of them; `users.maxRunningApps` and the per-user sandbox limits still apply;
 * - no Docker ping and no event stream: the view is rebuilt from ListTasks/DescribeTasks (`ready()`, then every
 *   `ecs.viewRefreshIntervalMs`), and ECS's reachability is one ListTasks of at most one task.
 */
import { type ECSClient, ListTasksCommand } from "@aws-sdk/client-ecs";
import { ConfigError, type SpawnerConfig } from "../config";
import type { Logger } from "../log";
import type { ServiceDatabases, ServiceParts } from "../service";
import { userPaths } from "../user-directories";
import { EcsAppBackend } from "./app-backend";
import type { AppTaskResources } from "./app-task-definition";
import { awsLogs, ecsClient } from "./client";
import { SandboxCallerIndex } from "./relay-callers";
import { SharedWebhookRelay } from "./relay-shared-listener";
import { EcsSandboxBackend, type EcsSandboxBackendOptions, type SandboxUserResources } from "./sandbox-backend";
import { EcsUserResources } from "./user-resources";
import { userResourceClients } from "./user-resources-clients";

/** The users' ECS-side resources, as `EcsUserResources` (src/ecs/user-resources.ts) makes them. */
export interface EcsUserResourceResolvers {
  app(slug: string): Promise<AppTaskResources>;
  sandbox(slug: string): Promise<SandboxUserResources>;
}

/** First route port of every user's sandboxes; the relay's caller index reads the routes from there. */
export const ECS_ROUTE_PORT_BASE = 40_000;

export interface EcsServicePartsContext {
  touch: (slug: string) => void;
  log: Logger;
  /** The users' databases: EcsUserResources writes each user's password (`describe(slug).password`) into their secret. */
  databases: Pick<ServiceDatabases, "describe">;
  /** Default: EcsUserResources over EFS, IAM and Secrets Manager clients built like the ECS client. */
  resources?: EcsUserResourceResolvers;
  client?: ECSClient;
  sandboxTuning?: Partial<Pick<EcsSandboxBackendOptions, "taskSize" | "stopTimeoutSeconds" | "refreshIntervalMs" | "freshnessMs">>;
}

export async function ecsServiceParts(
  config: SpawnerConfig,
  context: EcsServicePartsContext,
): Promise<ServiceParts<EcsAppBackend, EcsSandboxBackend, SharedWebhookRelay>> {
  const ecs = config.ecs;
  if (!ecs) throw new ConfigError('config.ecs: missing is required when backend is "ecs"');
  const { log } = context;
  const client = context.client ?? ecsClient(ecs);
  const resources =
    context.resources ??
    new EcsUserResources({
      config,
      ecs,
      ...userResourceClients(ecs),
      log: log.child({ component: "user-resources" }),
      database: (slug) => context.databases.describe(slug),
    });
  const apps = new EcsAppBackend({ config, ecs, client, log: log.child({ component: "apps" }), resources: (slug) => resources.app(slug) });
  const recordsPerUser = config.users.maxSandboxContainersPerUser;
  const sandboxes = new EcsSandboxBackend({
    ecs: client,
    placement: ecs,
    apiKeySecret: ecs.sandboxApiKeySecret,
    listen: { host: ecs.hostPrivateAddress, port: ecs.sandboxApiPort },
    sandboxDomain: ecs.sandboxDomain,
    image: config.images.agentServer,
    userResources: (slug) => resources.sandbox(slug),
    sandboxesPerUser: config.users.sandboxesPerUser,
    recordsPerUser,
    relayPort: config.network.relayPort,
    corsOrigins: [`https://${config.appHost}`],
    routePortBase: ECS_ROUTE_PORT_BASE,
    ...(ecs.taskLogGroup ? { logConfiguration: awsLogs(ecs.region, ecs.taskLogGroup, "sandbox") } : {}),
    ...context.sandboxTuning,
    log,
  });
  const relay = new SharedWebhookRelay({
    address: ecs.hostPrivateAddress,
    port: config.network.relayPort,
    // Adopted sandboxes may exceed the records limit by the running ones: every slot they can take is looked at.
    callers: new SandboxCallerIndex(sandboxes, {
      routePortBase: ECS_ROUTE_PORT_BASE,
      slotsPerUser: recordsPerUser + config.users.sandboxesPerUser,
    }),
    log: log.child({ component: "relay" }),
    onTraffic: context.touch,
  });
  return {
    apps,
    sandboxes,
    relay,
    // Tasks reach the host's services at its private address (the groups admit the gateway port from apps and sandboxes).
    llmBaseUrl: `http://${ecs.hostPrivateAddress}:${config.network.llmGatewayPort}`,
    probes: (database) => ({
      ecs: async () => {
        await client.send(new ListTasksCommand({ cluster: ecs.cluster, maxResults: 1 }));
      },
      ...(database ? { database } : {}),
      relay: () => {
        if (!relay.listening) throw new Error(`the relay is not listening on ${ecs.hostPrivateAddress}:${config.network.relayPort}`);
      },
      sandboxApi: () => {
        if (!sandboxes.url) throw new Error(`the remote sandbox API is not listening on ${ecs.hostPrivateAddress}:${ecs.sandboxApiPort}`);
      },
    }),
    stats: () => ({ appTasksKnown: apps.list().length }),
    start: async (appStopped) => {
      apps.onStopped(appStopped);
      await apps.ready();
      apps.startRefreshing();
      await sandboxes.listen();
      await relay.listen();
      // Sandboxes of users whose app is not open yet: owners() reports them, so the orphan sweep stops them.
      const found = await sandboxes.discover((slug) => userPaths(config.paths.efsRoot, slug));
      log.info("ecs view rebuilt", { apps: apps.list().length, usersWithSandboxTasks: found });
    },
    close: async () => {
      apps.stopRefreshing();
      await relay.closeAll();
      await sandboxes.shutdown();
    },
  };
}
