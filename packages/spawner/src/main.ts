/**
 * Entry point of dist/spawner.js:
 *   node dist/spawner.js --config /etc/openhands/spawner.json
 * or with SPAWNER_CONFIG_FILE=<path> or SPAWNER_CONFIG_JSON='<document>' in the environment.
 * Exits 2 on a bad configuration; SIGTERM/SIGINT close the listeners and leave every container (or ECS task) running.
 */
import { ConfigError, loadConfig, type SpawnerConfig } from "./config";
import type { EcsUserResourceResolvers } from "./ecs/service-backends";
import { createLogger, type Logger } from "./log";
import { startEcsSpawnerService, startSpawnerService } from "./service";

/**
 * What ECS mode still lacks before the spawner can serve users with it (docs/ecs.md, section 3). Until each exists,
 * start-up in ecs mode stops with this list instead of running half a control plane.
 */
const ECS_MODE_NOT_WIRED = [
  "the per-user ECS resources: each user's app and workspace EFS access points, database password secret and sandbox task role " +
    "(src/ecs/user-resources.ts, EcsUserResources, is not there yet; the service takes its resolvers)",
];

/**
 * The users' ECS-side resources (EcsUserResources with the EFS, IAM and Secrets Manager clients) are built here, once
 * src/ecs/user-resources.ts exists; until then ECS mode stops at start-up, naming what is missing.
 */
async function ecsUserResources(_config: SpawnerConfig, _log: Logger): Promise<EcsUserResourceResolvers> {
  throw new Error(`ecs mode: the spawner cannot serve users yet; not wired: ${ECS_MODE_NOT_WIRED.join("; ")}`);
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
  const service =
    config.backend === "ecs"
      ? await startEcsSpawnerService(config, { log, resources: await ecsUserResources(config, log) })
      : await startSpawnerService(config, { log });
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
