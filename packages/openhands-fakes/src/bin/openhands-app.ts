/**
 * Standalone OpenHands app fake, as the stand-in image runs it: `node dist/openhands-app.js`, configured only by
 * the container's environment (the spawner's, see packages/spawner/src/app-environment.ts) plus
 * OPENHANDS_VERSION (1.7.0 | 1.11.0, baked into the image). Listens on 0.0.0.0:3000 like the real image's
 * `uvicorn ... --host 0.0.0.0 --port 3000`. FAKE_LISTEN_HOST / FAKE_LISTEN_PORT / FAKE_BOOT_DELAY_MS are not
 * OpenHands variables: they let a test run it as a plain process on a chosen address.
 */
import { startOpenHandsApp } from "../app/server";
import { parseAppVersion } from "../versions";

async function main(): Promise<void> {
  const env = process.env;
  const app = await startOpenHandsApp({
    version: parseAppVersion(env.OPENHANDS_VERSION),
    env,
    host: env.FAKE_LISTEN_HOST || "0.0.0.0",
    port: Number(env.FAKE_LISTEN_PORT || 3000),
    bootDelayMs: Number(env.FAKE_BOOT_DELAY_MS || 0),
  });
  await app.ready;
  process.stdout.write(`openhands app ready (${app.version}) on ${app.host}:${app.port}\n`);
  const stop = (): void => void app.close().finally(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((error: Error) => {
  process.stderr.write(`openhands app failed: ${error.message}\n`);
  process.exit(1);
});
