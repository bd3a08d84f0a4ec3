/**
 * The spawner service against docker-lab's real Docker engine: real bridges (`10.241.N.0/24` inside the lab's
 * network namespace), real containers of the stand-in images, the relay on the real gateway addresses.
 * PostgreSQL is replaced (the app stand-in needs no database); everything else is the production wiring.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, request } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { docker, labEngine } from "@openhands-team/docker-lab";
import { parseConfig, type SpawnerConfig, type SpawnerConfigInput } from "../../src/config";
import { createLogger } from "../../src/log";
import { startSpawnerService, type SpawnerService } from "../../src/service";
import { fakeDatabases } from "./harness";

/** A request the spawner (or a filter) sent to dockerd: path without the version prefix, query parsed. */
export interface EngineCall {
  method: string;
  path: string;
  query: Record<string, string>;
  body?: any;
}

/**
 * A unix socket in front of dockerd that records every request and passes it on unchanged, so a test can say
 * what reached the engine (and what did not).
 */
export async function startRecordingProxy(target: string): Promise<{ socketPath: string; calls: EngineCall[]; close(): Promise<void> }> {
  const socketPath = join(mkdtempSync(join(tmpdir(), "spawner-proxy-")), "docker.sock");
  const calls: EngineCall[] = [];
  const upstreams = new Set<ReturnType<typeof request>>();
  const server = createServer((req, res) => {
    const url = req.url ?? "/";
    const at = url.indexOf("?");
    const call: EngineCall = {
      method: req.method ?? "GET",
      path: (at >= 0 ? url.slice(0, at) : url).replace(/^\/v1\.\d+/, ""),
      query: Object.fromEntries(new URLSearchParams(at >= 0 ? url.slice(at + 1) : "")),
    };
    calls.push(call);
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      if (body.length) {
        try {
          call.body = JSON.parse(body.toString("utf8"));
        } catch {
          call.body = body.toString("utf8");
        }
      }
      const upstream = request({ socketPath: target, agent: false, method: req.method, path: url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstreams.add(upstream);
      upstream.on("close", () => upstreams.delete(upstream));
      upstream.on("error", () => res.destroy());
      res.on("close", () => upstream.destroy());
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    socketPath,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        for (const upstream of upstreams) upstream.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface LabSpawner {
  dir: string;
  config: SpawnerConfig;
  service: SpawnerService;
  logs: string[];
  /** Every request that reached dockerd through the spawner (its own calls and every filter's). */
  calls: EngineCall[];
  callsMatching(method: string, path: RegExp): EngineCall[];
  restart(databases?: ReturnType<typeof fakeDatabases>): Promise<SpawnerService>;
  close(): Promise<void>;
}

export async function startLabSpawner(
  images: { app: string; agentServer: string },
  overrides: {
    users?: SpawnerConfigInput["users"];
    timing?: SpawnerConfigInput["timing"];
    network?: { subnetReuseDelayMs?: number };
  } = {},
): Promise<LabSpawner> {
  const engine = labEngine();
  if (!engine) throw new Error("no lab engine");
  const dir = mkdtempSync(join(tmpdir(), "spawner-lab-"));
  const proxy = await startRecordingProxy(engine.socketPath);
  const input: SpawnerConfigInput = {
    appHost: "openhands.example.com",
    runtimeDomain: "runtime.example.com",
    region: "eu-central-1",
    eventsBucket: "oh-events-test",
    api: { host: "127.0.0.1", port: 0 },
    docker: { socketPath: proxy.socketPath },
    images,
    network: { subnetPrefix: "10.241", appPort: 3000, relayPort: 3000, llmGatewayPort: 4000, subnetReuseDelayMs: 0, ...overrides.network },
    paths: { efsRoot: join(dir, "efs"), dockerApiDir: join(dir, "ohdocker") },
    database: { host: "127.0.0.1", port: 5432, adminUser: "admin", adminPassword: "admin" },
    secrets: { dbPasswordKey: "db-key", openhandsJwtSecret: "jwt-secret", llmGatewayKey: "sk-llm-gateway-master-key" },
    llm: { model: "claude-sonnet" },
    limits: { appMemoryMiB: 256, appCpus: 0.5, sandboxMemoryMiB: 300, sandboxCpus: 0.25, pidsLimit: 200 },
    timing: overrides.timing ?? { healthTimeoutMs: 60_000, healthIntervalMs: 100, ensureWaitMs: 30_000, cullIntervalMs: 3_600_000 },
    ...(overrides.users ? { users: overrides.users } : {}),
  };
  const config = parseConfig(input);
  const logs: string[] = [];
  const start = (databases = fakeDatabases()) =>
    startSpawnerService(config, { log: createLogger({ level: "debug", write: (line) => logs.push(line) }), databases });
  const lab: LabSpawner = {
    dir,
    config,
    logs,
    calls: proxy.calls,
    callsMatching: (method, path) => proxy.calls.filter((c) => c.method === method && path.test(c.path)),
    service: await start(),
    async restart(databases?: ReturnType<typeof fakeDatabases>) {
      await lab.service.close();
      lab.service = await start(databases);
      return lab.service;
    },
    async close() {
      await lab.service.close();
      await proxy.close();
      removeLabContainersAndNetworks();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return lab;
}

/** Containers and user networks a test made; docker-lab removes whatever is left when the run ends. */
export function removeLabContainersAndNetworks(): void {
  const ids = docker(["ps", "-aq", "--filter", "name=^/oh-"]).stdout.split("\n").filter(Boolean);
  if (ids.length) docker(["rm", "-f", ...ids], { allowFailure: true });
  const networks = docker(["network", "ls", "-q", "--filter", "name=^oh-u-"]).stdout.split("\n").filter(Boolean);
  if (networks.length) docker(["network", "rm", ...networks], { allowFailure: true });
}

/** `docker inspect` of one object, parsed. */
export function inspect(ref: string, kind: "container" | "network" = "container"): any {
  const out = docker([kind === "network" ? "network" : "container", "inspect", ref]);
  return JSON.parse(out.stdout)[0];
}

/** Whether a container exists in the engine (any state). */
export function exists(ref: string): boolean {
  return docker(["container", "inspect", ref], { allowFailure: true }).status === 0;
}

/** One raw HTTP/1.1 exchange on a unix socket, the bytes of the answer as text (Connection: close). */
export function rawExchange(socketPath: string, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    const chunks: Buffer[] = [];
    socket.on("data", (chunk) => chunks.push(chunk));
    socket.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    socket.on("error", reject);
    socket.write(request);
  });
}

/**
 * Runs a short Node.js script inside a running container (engine-side exec, not through the filter).
 * Asynchronous: the relay or filter the script may call runs in this very process.
 */
export function execNode(container: string, script: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn("docker", ["exec", container, "/usr/bin/node", "-e", script], {
      env: { ...process.env, DOCKER_HOST: `unix://${labEngine()!.socketPath}` },
      timeout: 30_000,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}
