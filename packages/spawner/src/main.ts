/**
 * Entry point of dist/spawner.js:
 *   node dist/spawner.js --config /etc/openhands/spawner.json
 * or with SPAWNER_CONFIG_FILE=<path> or SPAWNER_CONFIG_JSON='<document>' in the environment.
 * Exits 2 on a bad configuration; SIGTERM/SIGINT close the listeners and leave every container (or ECS task) running.
 */
import { ConfigError, loadConfig } from "./config";
import { createLogger } from "./log";
import { startEcsSpawnerService, startSpawnerService } from "./service";

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
  // ECS mode (docs/ecs.md): the ECS backends, the one relay listener and the users' AWS resources, loaded only then.
  const service = config.backend === "ecs" ? await startEcsSpawnerService(config, { log }) : await startSpawnerService(config, { log });
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
  // A setting only the start-up checks (ECS mode's user resources, say) is a bad configuration too.
  process.exit(error instanceof ConfigError ? 2 : 1);
});
