/**
 * `pnpm dev`: the system test's stack, kept running for clicking through by hand, until Ctrl-C.
 *
 * The stack needs a real Docker engine, so it runs inside a docker-lab (a network namespace of its own, private to
 * it). This file runs twice:
 * - on the machine (no lab): it starts `docker-lab run -- <this file>` and publishes the two addresses a browser
 *   needs, the edge harness (every *.e2e.test name) and the OIDC provider (its issuer URL), on the machine's own
 *   loopback with the same port numbers. The lab's side listens on unix sockets in a private folder (a unix socket
 *   belongs to no network namespace) and this side forwards TCP connections to them;
 * - inside the lab: it starts the stack, the unix-socket ends of the forwarding, and prints how to open it.
 */
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { labEngine } from "@openhands-team/docker-lab";
import { stopAll } from "./processes";
import { startStack } from "./stack";

const ARTIFACTS = join(__dirname, "..", "artifacts", "dev");
/** Set by the machine's side for the lab's side: the folder of the forwarding sockets. */
const BRIDGE_DIR = "OH_E2E_DEV_BRIDGE_DIR";
/** The line the lab's side prints for each port to publish on the machine's loopback. */
const FORWARD_LINE = /^OH_E2E_DEV_FORWARD (\d{1,5})$/;

function pipeBoth(a: Socket, b: Socket): void {
  a.pipe(b);
  b.pipe(a);
  a.on("error", () => b.destroy());
  b.on("error", () => a.destroy());
}

function listen(server: Server, target: string | { port: number; host: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    if (typeof target === "string") server.listen(target, resolve);
    else server.listen(target.port, target.host, resolve);
  });
}

function idleMinutesFrom(argv: readonly string[]): number {
  const at = argv.indexOf("--idle-minutes");
  const idleMinutes = at > 0 ? Number(argv[at + 1]) : 10;
  if (!Number.isFinite(idleMinutes) || idleMinutes <= 0)
    throw new Error(`--idle-minutes: ${JSON.stringify(argv[at + 1])} is not a positive number of minutes`);
  return idleMinutes;
}

/** On the machine: the lab around the stack, and its two ports on the machine's loopback. */
async function outside(): Promise<void> {
  idleMinutesFrom(process.argv);
  const dir = mkdtempSync(join(tmpdir(), "oh-e2e-dev-"));
  chmodSync(dir, 0o700);
  const servers: Server[] = [];
  const labCli = join(require.resolve("@openhands-team/docker-lab/package.json"), "..", "bin", "docker-lab.mjs");
  const child = spawn(
    process.execPath,
    [labCli, "run", "--", process.execPath, "--import", require.resolve("tsx"), __filename, ...process.argv.slice(2)],
    {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, [BRIDGE_DIR]: dir },
    },
  );
  let pending = "";
  child.stdout.on("data", (chunk: Buffer) => {
    pending += chunk.toString("utf8");
    let newline: number;
    while ((newline = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      const forward = FORWARD_LINE.exec(line);
      if (!forward) {
        process.stdout.write(`${line}\n`);
        continue;
      }
      const port = Number(forward[1]);
      const server = createServer((client) => pipeBoth(client, connect(join(dir, `${port}.sock`))));
      servers.push(server);
      listen(server, { port, host: "127.0.0.1" }).catch((error: Error) =>
        process.stderr.write(`cannot publish port ${port} on this machine's loopback: ${error.message}\n`),
      );
    }
  });
  // Ctrl-C reaches the whole process group: docker-lab passes it on to the stack, which stops, then the lab goes.
  process.on("SIGINT", () => undefined);
  process.on("SIGTERM", () => child.kill("SIGTERM"));
  const code = await new Promise<number>((resolve) => child.on("exit", (status) => resolve(status ?? 1)));
  for (const server of servers) server.close();
  rmSync(dir, { recursive: true, force: true });
  process.exit(code);
}

/** Inside the lab: the stack, and the lab's ends of the forwarding. */
async function inside(bridgeDir: string | undefined): Promise<void> {
  const idleMinutes = idleMinutesFrom(process.argv);
  process.stdout.write(
    "starting PostgreSQL, the LLM gateway, the spawner, nginx, the OIDC provider and the edge (Docker engine: this lab's)...\n",
  );
  const stack = await startStack({ artifactsDir: ARTIFACTS, idleMinutes });
  const bridges: Server[] = [];
  const oidcPort = Number(new URL(stack.oidcIssuer).port);
  if (bridgeDir) {
    for (const port of [stack.edge.port, oidcPort]) {
      const server = createServer((client) => pipeBoth(client, connect(port, "127.0.0.1")));
      await listen(server, join(bridgeDir, `${port}.sock`));
      bridges.push(server);
      process.stdout.write(`OH_E2E_DEV_FORWARD ${port}\n`);
    }
  }
  const profile = mkdtempSync(join(tmpdir(), "oh-dev-chromium-"));
  const users = ["alice", "bob"].map((login) => stack.user(login));
  const netns = labEngine()?.netns ?? "";
  process.stdout.write(
    [
      "",
      `OpenHands (multi-user, real containers in the Docker lab ${netns}): ${stack.appOrigin}/`,
      "",
      bridgeDir
        ? `The edge (port ${stack.edge.port}) and the OIDC provider (port ${oidcPort}) are published on this machine's 127.0.0.1.`
        : `Nothing is published outside the lab: run the browser in its network namespace (nsenter --net=/run/netns/${netns} ...).`,
      "The names only resolve in a browser started with the harness's mapping (self-signed TLS), for example:",
      `  chromium --user-data-dir=${profile} --ignore-certificate-errors --host-resolver-rules="${stack.hostResolverRules}" ` +
        `${stack.appOrigin}/`,
      "or with curl:",
      `  curl -k --connect-to ::127.0.0.1:${stack.edge.port} -H "accept: text/html" -i ${stack.appOrigin}/`,
      "Inside the lab (container addresses, the spawner's API, docker against the lab's engine):",
      `  nsenter --net=/run/netns/${netns} curl ${stack.spawnerUrl}/v1/stats`,
      `  DOCKER_HOST=unix://${stack.engine.socketPath} docker ps`,
      "",
      "Test users (the loopback OIDC provider accepts any password):",
      ...users.map((user) => `  ${user.login.padEnd(6)} password: anything   (slug ${user.slug})`),
      "Use a second browser profile (another --user-data-dir) to be both at once.",
      "",
      `OIDC provider: ${stack.oidcIssuer}   idle limit: ${idleMinutes} min`,
      `Logs: ${stack.logDir} (containers' logs are written there when the stack stops)`,
      "Ctrl-C stops everything (the lab removes every container, bridge and rule it made).",
      "",
    ].join("\n"),
  );
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write("\nstopping...\n");
    for (const server of bridges) server.close();
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

async function main(): Promise<void> {
  const bridgeDir = process.env[BRIDGE_DIR];
  // Inside a lab (or started by the machine's side, whose lab could not start: the stack then says why).
  if (labEngine() || bridgeDir) return inside(bridgeDir);
  return outside();
}

main().catch(async (error: Error) => {
  process.stderr.write(`pnpm dev failed: ${error.message}\n`);
  await stopAll();
  process.exit(1);
});
