/**
 * Entry point of dist/spawner.js:
 *   node dist/spawner.js --config /etc/openhands/spawner.json
 * or with SPAWNER_CONFIG_FILE=<path> or SPAWNER_CONFIG_JSON='<document>' in the environment.
 * Exits 2 on a bad configuration; SIGTERM/SIGINT close the listeners and leave every container running.
 */
import { ConfigError, loadConfig, type SpawnerConfig } from "./config";
import type { EcsAppBackend } from "./ecs/app-backend";
import type { EcsSandboxBackend } from "./ecs/sandbox-backend";
import { createLogger, type Logger } from "./log";
import { startSpawnerService } from "./service";

/**
 * What ECS mode still lacks before the spawner can serve users with it (docs/ecs.md, section 3). Until each exists,
 * start-up in ecs mode stops with this list instead of running half a control plane.
 */
const ECS_MODE_NOT_WIRED = [
  "the per-user ECS resources: each user's app and workspace EFS access points, database password secret and sandbox task role " +
    "(the backends take resolvers for them; nothing creates them yet)",
  "the webhook relay on the host's private address (src/relay.ts listens per user on a Docker gateway and port)",
  "the service wiring of the ECS backends (src/service.ts builds the Docker backends, health checks and memory budget)",
];

/**
 * ECS mode's backends, built from the configuration: the place where both are constructed. Their resolvers of the
 * per-user resources refuse until those are made (ECS_MODE_NOT_WIRED). Loaded only in ECS mode: the AWS SDK stays
 * out of a docker-mode start.
 */
async function ecsBackends(config: SpawnerConfig, log: Logger): Promise<{ apps: EcsAppBackend; sandboxes: EcsSandboxBackend }> {
  const ecs = config.ecs;
  if (!ecs) throw new ConfigError('config.ecs: missing is required when backend is "ecs"');
  const [{ EcsAppBackend }, { ecsClient }, { EcsSandboxBackend }] = await Promise.all([
    import("./ecs/app-backend"),
    import("./ecs/client"),
    import("./ecs/sandbox-backend"),
  ]);
  const client = ecsClient(ecs);
  const notWired = (what: string) => async (slug: string) => {
    throw new Error(`ecs mode: the ${what} of ${slug} cannot be resolved: ${ECS_MODE_NOT_WIRED[0]}`);
  };
  const apps = new EcsAppBackend({ config, ecs, client, log: log.child({ component: "apps" }), resources: notWired("app task resources") });
  const sandboxes = new EcsSandboxBackend({
    ecs: client,
    placement: ecs,
    apiKeySecret: ecs.sandboxApiKeySecret,
    listen: { host: ecs.hostPrivateAddress, port: ecs.sandboxApiPort },
    sandboxDomain: ecs.sandboxDomain,
    image: config.images.agentServer,
    userResources: notWired("sandbox resources"),
    sandboxesPerUser: config.users.sandboxesPerUser,
    recordsPerUser: config.users.maxSandboxContainersPerUser,
    relayPort: config.network.relayPort,
    log,
  });
  return { apps, sandboxes };
}

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.argv.slice(2), process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const log = createLogger({ level: config.logLevel, base: { service: "spawner" } });
  if (config.backend === "ecs") {
    await ecsBackends(config, log);
    throw new Error(`ecs mode: the spawner cannot serve users yet; not wired: ${ECS_MODE_NOT_WIRED.join("; ")}`);
  }
  const service = await startSpawnerService(config, { log });
  const shutdown = (signal: string) => {
    log.info("shutting down", { signal });
    service
      .close()
      .then(() => process.exit(0))
      .catch(() => process.exit(1));
  };
  // A stray rejection is a bug to log, not a reason to drop every user's relay and Docker socket.
  process.on("unhandledRejection", (reason) =>
    log.error("unhandled rejection", { error: reason instanceof Error ? reason.message : String(reason) }),
  );
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}

main().catch((error: Error) => {
  process.stderr.write(
    `${JSON.stringify({ time: new Date().toISOString(), level: "error", msg: "spawner failed to start", error: error.message })}\n`,
  );
  process.exit(1);
});
