/**
 * `pnpm dev`: the system test's stack, kept running for clicking through by hand, until Ctrl-C.
 * Prints the app URL, the test users, and the Chromium command that maps the test domain to the edge harness.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stopAll } from "./processes";
import { startStack } from "./stack";

const ARTIFACTS = join(__dirname, "..", "artifacts", "dev");

async function main(): Promise<void> {
  const idleArg = process.argv.indexOf("--idle-minutes");
  const idleMinutes = idleArg > 0 ? Number(process.argv[idleArg + 1]) : 10;
  if (!Number.isFinite(idleMinutes) || idleMinutes <= 0) {
    throw new Error(`--idle-minutes: ${JSON.stringify(process.argv[idleArg + 1])} is not a positive number of minutes`);
  }
  process.stdout.write("starting PostgreSQL, the fake Docker engine, the spawner, nginx, the OIDC provider and the edge...\n");
  const stack = await startStack({ artifactsDir: ARTIFACTS, idleMinutes });
  const profile = mkdtempSync(join(tmpdir(), "oh-dev-chromium-"));
  const users = ["alice", "bob"].map((login) => stack.user(login));
  process.stdout.write(
    [
      "",
      `OpenHands (multi-user, on loopback): ${stack.appOrigin}/`,
      "",
      "The names only resolve in a browser started with the harness's mapping (self-signed TLS), for example:",
      `  chromium --user-data-dir=${profile} --ignore-certificate-errors --host-resolver-rules="${stack.hostResolverRules}" ${stack.appOrigin}/`,
      "",
      "Test users (the loopback OIDC provider accepts any password):",
      ...users.map((user) => `  ${user.login.padEnd(6)} password: anything   (slug ${user.slug})`),
      "Use a second browser profile (another --user-data-dir) to be both at once.",
      "",
      `Spawner API: ${stack.spawnerUrl}/v1/stats   OIDC provider: ${stack.oidcIssuer}   idle limit: ${idleMinutes} min`,
      `Logs: ${stack.logDir}`,
      "Ctrl-C stops everything.",
      "",
    ].join("\n"),
  );
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write("\nstopping...\n");
    stack
      .stop()
      .then(() => stopAll())
      .then(() => process.exit(0))
      .catch((error: Error) => {
        process.stderr.write(`stopping failed: ${error.message}\n`);
        process.exit(1);
      });
  };
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
}

main().catch(async (error: Error) => {
  process.stderr.write(`pnpm dev failed: ${error.message}\n`);
  await stopAll();
  process.exit(1);
});
