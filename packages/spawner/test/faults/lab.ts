/**
 * Fault injection for the spawner on docker-lab's real Docker engine and a real PostgreSQL 15:
 * - a socket proxy in front of dockerd that passes bytes, stops answering ("hang") or goes away ("down"),
 *   as a hung or restarting engine does (stopping the lab's dockerd itself would take the engine from every test);
 * - PostgreSQL stopped abruptly by PID, frozen (SIGSTOP) and started again on the same data and port;
 * - the spawner service with its production wiring (real UserDatabases, the admin password in a file).
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { labEngine } from "@openhands-team/docker-lab";
import { parseConfig, type SpawnerConfig, type SpawnerConfigInput } from "../../src/config";
import { createLogger } from "../../src/log";
import { startSpawnerService, type SpawnerService } from "../../src/service";
import { slugForSub } from "../../src/slug";
import type { TestPostgres } from "../../testing/postgres";
import { http as harnessHttp, type HttpResult } from "../helpers/harness";
import { removeLabContainersAndNetworks } from "../helpers/lab-spawner";

export type ProxyMode = "pass" | "hang" | "down";

/** A unix socket in front of dockerd whose behaviour the test switches. */
export interface FaultProxy {
  socketPath: string;
  mode: ProxyMode;
  /** Sets the mode; "down" also cuts every open connection (the events stream included). */
  set(mode: ProxyMode): void;
  close(): Promise<void>;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const socketPath = join(mkdtempSync(join(tmpdir(), "spawner-fault-proxy-")), "docker.sock");
  const open = new Set<Socket>();
  const held = new Set<Socket>();
  const server = createServer((client) => {
    open.add(client);
    client.on("close", () => open.delete(client));
    client.on("error", () => undefined);
    if (proxy.mode === "down") return client.destroy();
    if (proxy.mode === "hang") {
      // Accepted and never answered, as an engine that stopped answering.
      held.add(client);
      return;
    }
    const upstream = connect(target);
    open.add(upstream);
    upstream.on("close", () => {
      open.delete(upstream);
      client.destroy();
    });
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  const proxy: FaultProxy = {
    socketPath,
    mode: "pass",
    set(mode) {
      proxy.mode = mode;
      if (mode === "down") for (const socket of open) socket.destroy();
      if (mode === "pass") {
        for (const socket of held) socket.destroy();
        held.clear();
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
  return proxy;
}

/** Sends a signal to a process that may have exited meanwhile (a backend ending its session): false when it is gone. */
function signal(pid: number, name: NodeJS.Signals | 0): boolean {
  try {
    process.kill(pid, name);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw error;
  }
}

/** The state letter of a process from /proc/<pid>/stat ("Z" for a zombie, "T" stopped), or undefined when it is gone. */
function stateOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[0];
  } catch {
    return undefined;
  }
}

/**
 * Abruptly stops a PostgreSQL started by testing/postgres.ts (SIGQUIT: immediate shutdown, as a crash). A stopped
 * server is continued first (a stopped process does not act on SIGQUIT); a zombie waiting for its parent counts as gone.
 */
export async function killPostgres(pid: number): Promise<void> {
  if (!signal(pid, "SIGCONT") || !signal(pid, "SIGQUIT")) return;
  const until = Date.now() + 15_000;
  while (Date.now() < until) {
    const state = stateOf(pid);
    if (state === undefined || state === "Z") return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`PostgreSQL ${pid} did not stop`);
}

/** Starts PostgreSQL again on the data folder and port of `pg`; returns the new postmaster PID. */
export async function restartPostgres(pg: TestPostgres): Promise<number> {
  const binDir = process.env.PG_BIN_DIR ?? "/usr/lib/postgresql/15/bin";
  const dir = dirname(pg.dataDir);
  const pidFile = join(pg.dataDir, "postmaster.pid");
  if (existsSync(pidFile)) rmSync(pidFile);
  const args = [
    join(binDir, "postgres"),
    "-D",
    pg.dataDir,
    "-h",
    "127.0.0.1",
    "-p",
    String(pg.port),
    "-k",
    dir,
    "-c",
    "fsync=off",
    "-c",
    "max_connections=60",
  ];
  const asRoot = process.getuid?.() === 0;
  const child = asRoot
    ? spawn("runuser", ["-u", "postgres", "--", ...args], { stdio: "ignore" })
    : spawn(args[0]!, args.slice(1), { stdio: "ignore" });
  const until = Date.now() + 20_000;
  for (;;) {
    if (existsSync(pidFile) && readFileSync(pidFile, "utf8").includes("ready")) return Number(readFileSync(pidFile, "utf8").split("\n")[0]);
    if (child.exitCode !== null || Date.now() > until) throw new Error("PostgreSQL did not start again");
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The parent of a process (from /proc/<pid>/stat). */
export function parentOf(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[1]);
}

/** The children of a process (from /proc/<pid>/stat). */
function childrenOf(parent: number): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => {
      try {
        return parentOf(pid) === parent;
      } catch {
        return false;
      }
    });
}

export interface FrozenPostgres {
  /** Continues every process frozen, and the `runuser` that started the server. */
  resume(): void;
}

/**
 * Freezes a whole PostgreSQL server (SIGSTOP): the postmaster first, so that it forks no new backend, then every
 * backend; one that exits meanwhile is skipped. `resume` continues them, and the `runuser` that started the server:
 * runuser stops itself when its child stops (job control), and a stopped runuser never reaps the postmaster.
 */
export function freezePostgres(postmaster: number): FrozenPostgres {
  const frozen: number[] = [];
  const freeze = (pid: number): void => {
    if (signal(pid, "SIGSTOP")) frozen.push(pid);
  };
  freeze(postmaster);
  for (const pid of childrenOf(postmaster)) freeze(pid);
  return {
    resume() {
      for (const pid of frozen) signal(pid, "SIGCONT");
      try {
        const parent = parentOf(postmaster);
        if (readFileSync(`/proc/${parent}/comm`, "utf8").trim() === "runuser") signal(parent, "SIGCONT");
      } catch {
        // the postmaster is gone, or has no parent to continue
      }
    },
  };
}

/**
 * Lets this process call a relay from an address inside a user's /24, as that user's sandbox does. Docker's
 * `-s <subnet> ! -o <bridge> -j MASQUERADE` rewrites such a source on the way through `lo` (to docker0's
 * address), so a RETURN for `lo` goes first in the lab namespace's nat table (re-inserted: dockerd inserts
 * its rules at the top when it creates a network).
 */
export function keepLoopbackSources(): void {
  try {
    execFileSync("iptables", ["-t", "nat", "-D", "POSTROUTING", "-o", "lo", "-j", "RETURN"], { stdio: "ignore" });
  } catch {
    // not there yet
  }
  execFileSync("iptables", ["-t", "nat", "-I", "POSTROUTING", "1", "-o", "lo", "-j", "RETURN"], { stdio: "ignore" });
}

/** Open file descriptors of this process (the spawner runs in it). */
export function openFds(): number {
  return readdirSync("/proc/self/fd").length;
}

export type { HttpResult };

/** The harness's request helper, each on a connection of its own and given 30 s unless said otherwise. */
export function http(options: Parameters<typeof harnessHttp>[0]): Promise<HttpResult> {
  return harnessHttp({ fresh: true, timeoutMs: 30_000, ...options });
}

export async function eventually<T>(check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A sub whose slug is known, and the slug. */
export function user(n: number): { sub: string; slug: string } {
  const sub = `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
  return { sub, slug: slugForSub(sub) };
}

export interface FaultLab {
  dir: string;
  config: SpawnerConfig;
  service: SpawnerService;
  proxy: FaultProxy;
  logs: string[];
  passwordFile: string;
  ensure(who: { sub: string; slug: string }): Promise<HttpResult>;
  close(): Promise<void>;
}

/** The spawner on the lab engine (through a fault proxy) and a real PostgreSQL; user networks `<prefix>.N.0/24`. */
export async function startFaultLab(options: {
  images: { app: string; agentServer: string };
  pg: TestPostgres;
  subnetPrefix: string;
  timing?: SpawnerConfigInput["timing"];
  users?: SpawnerConfigInput["users"];
  memory?: SpawnerConfigInput["memory"];
}): Promise<FaultLab> {
  const engine = labEngine();
  if (!engine) throw new Error("no lab engine");
  const dir = mkdtempSync(join(tmpdir(), "spawner-faults-"));
  const proxy = await startFaultProxy(engine.socketPath);
  const passwordFile = join(dir, "admin-password");
  writeFileSync(passwordFile, `${options.pg.password}\n`, { mode: 0o600 });
  const input: SpawnerConfigInput = {
    logLevel: "debug",
    appHost: "openhands.example.com",
    runtimeDomain: "runtime.example.com",
    region: "eu-central-1",
    eventsBucket: "oh-events-test",
    api: { host: "127.0.0.1", port: 0 },
    docker: { socketPath: proxy.socketPath },
    images: options.images,
    network: { subnetPrefix: options.subnetPrefix, appPort: 3000, relayPort: 3000, llmGatewayPort: 4000, subnetReuseDelayMs: 0 },
    paths: { efsRoot: join(dir, "efs"), dockerApiDir: join(dir, "ohdocker") },
    database: { host: options.pg.host, port: options.pg.port, adminUser: options.pg.user, adminPassword: { file: passwordFile } },
    secrets: { dbPasswordKey: "db-key", openhandsJwtSecret: "jwt-secret", llmGatewayKey: "sk-llm-gateway-master-key" },
    llm: { model: "claude-sonnet" },
    limits: { appMemoryMiB: 256, appCpus: 0.5, sandboxMemoryMiB: 300, sandboxCpus: 0.25, pidsLimit: 200 },
    timing: options.timing ?? {
      healthTimeoutMs: 60_000,
      healthIntervalMs: 100,
      ensureWaitMs: 30_000,
      cullIntervalMs: 3_600_000,
      databaseTimeoutMs: 3_000,
      dockerTimeoutMs: 5_000,
    },
    ...(options.users ? { users: options.users } : {}),
    ...(options.memory ? { memory: options.memory } : {}),
  };
  const config = parseConfig(input);
  const logs: string[] = [];
  const service = await startSpawnerService(config, { log: createLogger({ level: "debug", write: (line) => logs.push(line) }) });
  const lab: FaultLab = {
    dir,
    config,
    service,
    proxy,
    logs,
    passwordFile,
    ensure: (who) =>
      http({ url: `${lab.service.apiUrl}/v1/users/${who.slug}/ensure`, method: "POST", body: { sub: who.sub }, timeoutMs: 120_000 }),
    async close() {
      proxy.set("pass");
      await lab.service.close();
      await proxy.close();
      removeLabContainersAndNetworks();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return lab;
}
