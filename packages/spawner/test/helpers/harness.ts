/**
 * Test harness: the real spawner service against the fake Docker engine (testing/fake-docker-engine.ts),
 * with the OpenHands app fake of @openhands-team/openhands-fakes "running" in every started app
 * container, listening on the container's address. No bridge exists for the fake engine's networks, so the
 * harness puts a 10.X.0.0/16 of its own on the loopback interface of docker-lab's network namespace (never
 * the machine's): the relay binds the user's gateway 10.X.N.1 and the app listens on 10.X.N.2 as on a host.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { labEngine, labUnavailableReason } from "@openhands-team/docker-lab";
import { request as httpRequest } from "node:http";
import { freePort } from "../../testing/postgres";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig, type SpawnerConfig, type SpawnerConfigInput } from "../../src/config";
import type { UserDatabase } from "../../src/database";
import { createLogger, type Logger } from "../../src/log";
import { startSpawnerService, type SpawnerService } from "../../src/service";
import { slugForSub } from "../../src/slug";
import { startFakeDockerEngine, type FakeDockerEngine, type FakeDockerEngineOptions } from "../../testing/fake-docker-engine";
import { startOpenHandsApp, type RunningOpenHandsApp } from "@openhands-team/openhands-fakes";

export const APP_IMAGE = "ghcr.io/openhands/openhands:1.7.0";
export const AGENT_IMAGE = "ghcr.io/openhands/agent-server:1.19.1-python";

export { freePort };

export interface HttpResult {
  status: number;
  body: string;
  json: () => any;
}

/**
 * One HTTP request (TCP or unix socket); resolves with the answer, rejects on a connection error. `fresh` opens a
 * connection of its own (no agent), `timeoutMs` fails a request that gets no answer in time.
 */
export function http(options: {
  url?: string;
  socketPath?: string;
  path?: string;
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
  localAddress?: string;
  fresh?: boolean;
  timeoutMs?: number;
}): Promise<HttpResult> {
  const payload =
    options.body === undefined ? undefined : Buffer.from(typeof options.body === "string" ? options.body : JSON.stringify(options.body));
  return new Promise((resolve, reject) => {
    const headers = {
      ...(payload ? { "content-type": "application/json", "content-length": String(payload.length) } : {}),
      ...options.headers,
    };
    const done = (res: import("node:http").IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        resolve({ status: res.statusCode ?? 0, body, json: () => JSON.parse(body) });
      });
    };
    const agent = options.fresh ? { agent: false as const } : {};
    const req = options.socketPath
      ? httpRequest(
          {
            socketPath: options.socketPath,
            path: options.path ?? "/",
            method: options.method ?? "GET",
            headers: { host: "docker", ...headers },
            ...agent,
          },
          done,
        )
      : httpRequest(
          options.url!,
          { method: options.method ?? "GET", headers, ...agent, ...(options.localAddress ? { localAddress: options.localAddress } : {}) },
          done,
        );
    if (options.timeoutMs !== undefined) req.setTimeout(options.timeoutMs, () => req.destroy(new Error("no answer in time")));
    req.on("error", reject);
    req.end(payload);
  });
}

/** A sub whose slug is known, and the slug. */
export function user(n: number): { sub: string; slug: string } {
  const sub = `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
  return { sub, slug: slugForSub(sub) };
}

export const fakeDatabases = () => {
  const calls: string[] = [];
  const describe = (slug: string): UserDatabase => ({
    host: "db.internal",
    port: 5432,
    database: `oh_${slug}`,
    user: `oh_${slug}`,
    password: `pw-${slug}`,
  });
  return {
    calls,
    describe,
    ensure: async (slug: string): Promise<UserDatabase> => {
      calls.push(slug);
      return describe(slug);
    },
    close: async () => undefined,
  };
};

export interface Harness {
  dir: string;
  engine: FakeDockerEngine;
  config: SpawnerConfig;
  apps: Map<string, RunningOpenHandsApp>;
  service?: SpawnerService;
  logs: string[];
  startService(extra?: { databases?: ReturnType<typeof fakeDatabases> }): Promise<SpawnerService>;
  stopService(): Promise<void>;
  /** Replaces the Docker engine with an empty one (a new host), keeping EFS. */
  replaceHost(): Promise<void>;
  close(): Promise<void>;
}

export async function startHarness(
  options: {
    config?: Partial<Omit<SpawnerConfigInput, "network">> & { users?: SpawnerConfigInput["users"]; timing?: SpawnerConfigInput["timing"] };
    /** Merged into the harness's loopback network settings. */
    network?: { subnetReuseDelayMs?: number };
    engine?: Partial<FakeDockerEngineOptions>;

    dir?: string;
  } = {},
): Promise<Harness> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "spawner-test-"));
  const apps = new Map<string, RunningOpenHandsApp>();
  const logs: string[] = [];
  const appPort = await freePort();
  const relayPort = await freePort();
  // A loopback /16 of our own, so parallel test files do not meet on the same addresses.
  if (!labEngine()) throw new Error(`the fake-engine harness needs docker-lab's network namespace: ${labUnavailableReason()}`);
  // A /16 of our own on the lab's loopback (apart from the real engine's 10.241), so user gateways can be bound.
  const second = 200 + Math.floor(Math.random() * 40);
  const added = spawnSync("ip", ["addr", "add", `10.${second}.0.0/16`, "dev", "lo"], { encoding: "utf8" });
  if (added.status !== 0 && !/File exists/.test(added.stderr))
    throw new Error(`ip addr add 10.${second}.0.0/16 dev lo: ${added.stderr.trim()}`);
  const input: SpawnerConfigInput = {
    appHost: "openhands.example.com",
    runtimeDomain: "runtime.example.com",
    region: "eu-central-1",
    eventsBucket: "oh-events-test",
    api: { host: "127.0.0.1", port: 0 },
    docker: { socketPath: join(dir, "docker.sock") },
    images: { app: APP_IMAGE, agentServer: AGENT_IMAGE },
    network: { subnetPrefix: `10.${second}`, appPort, relayPort, llmGatewayPort: 4000, subnetReuseDelayMs: 0, ...options.network },
    paths: { efsRoot: join(dir, "efs"), dockerApiDir: join(dir, "ohdocker") },
    database: { host: "127.0.0.1", port: 5432, adminUser: "admin", adminPassword: "admin" },
    secrets: { dbPasswordKey: "db-key", openhandsJwtSecret: "jwt-secret", llmGatewayKey: "sk-llm-gateway-master-key" },
    llm: { model: "litellm_proxy/claude-sonnet" },
    timing: { healthTimeoutMs: 10_000, healthIntervalMs: 20, ensureWaitMs: 5_000, cullIntervalMs: 3_600_000 },
    ...options.config,
  };
  const config = parseConfig(input);

  const engineOptions = (): FakeDockerEngineOptions => ({
    socketPath: config.docker.socketPath,
    images: [APP_IMAGE, AGENT_IMAGE],
    // "Runs" an app container: a fake OpenHands on the container's address and the app port.
    onStart: async (container) => {
      if (!container.Name.startsWith("/oh-app-")) return;
      const ip = Object.values(container.NetworkSettings.Networks)[0]?.IPAddress;
      if (!ip) throw new Error("app container started without an address");
      const app = await startOpenHandsApp({ version: "1.7.0", host: ip, port: config.network.appPort, env: { FILE_STORE: "local" } });
      await app.ready;
      apps.set(container.Name.slice(1), app);
    },
    onStop: async (container, action) => {
      if (action === "pause") return;
      const app = apps.get(container.Name.slice(1));
      apps.delete(container.Name.slice(1));
      await app?.close();
    },
    ...options.engine,
  });

  const harness: Harness = {
    dir,
    engine: await startFakeDockerEngine(engineOptions()),
    config,
    apps,
    logs,
    async startService(extra = {}) {
      const log: Logger = createLogger({ level: "debug", write: (line) => logs.push(line) });
      harness.service = await startSpawnerService(config, { log, databases: extra.databases ?? fakeDatabases() });
      return harness.service;
    },
    async stopService() {
      await harness.service?.close();
      harness.service = undefined;
    },
    async replaceHost() {
      await harness.stopService();
      for (const app of apps.values()) await app.close();
      apps.clear();
      await harness.engine.close();
      harness.engine = await startFakeDockerEngine(engineOptions());
    },
    async close() {
      await harness.stopService();
      for (const app of apps.values()) await app.close();
      apps.clear();
      await harness.engine.close();
      spawnSync("ip", ["addr", "del", `10.${second}.0.0/16`, "dev", "lo"]);
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
  return harness;
}

/** Waits until a condition holds (event-driven state settles asynchronously). */
export async function eventually<T>(check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}
