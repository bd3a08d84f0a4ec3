/**
 * The lab's real Docker engine (@openhands-team/docker-lab), as the system test looks at it:
 * - a counting pass-through socket in front of dockerd, handed to the spawner as its Docker socket, so the test
 *   and the bench can say which Engine API calls an ensure made (the spawner's own calls and every user's
 *   filtered calls reach dockerd through it);
 * - container state read straight from dockerd (inspect, list), never through the spawner;
 * - the logs of every container, kept as test artifacts.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { docker } from "@openhands-team/docker-lab";

/** One Engine API request that reached dockerd: method and path without the `/v1.NN` prefix. */
export interface EngineCall {
  readonly method: string;
  readonly path: string;
  readonly at: number;
}

export interface CountingSocket {
  /** Hand this to the spawner as `docker.socketPath`. */
  readonly socketPath: string;
  readonly calls: readonly EngineCall[];
  /** Calls since `since` (an index into `calls`), by `METHOD /path` with ids and names folded. */
  countsSince(since: number): Map<string, number>;
  close(): Promise<void>;
}

/** `/containers/oh-app-x/json` -> `/containers/{ref}/json`, so that counts group by kind of call. */
export function foldPath(path: string): string {
  return path
    .replace(/^\/containers\/(?!create$|json$|prune$)[^/]+/, "/containers/{ref}")
    .replace(/^\/networks\/(?!create$|prune$)[^/]+/, "/networks/{ref}")
    .replace(/^\/images\/(?!create$|json$|prune$)(.+?)\/json$/, "/images/{ref}/json")
    .replace(/^\/volumes\/(?!create$|prune$)[^/]+/, "/volumes/{ref}");
}

/**
 * A unix socket that passes every request to dockerd unchanged (streamed both ways, so the spawner's long-lived
 * `GET /events` works through it) and records method and path.
 */
export async function startCountingSocket(target: string): Promise<CountingSocket> {
  const dir = mkdtempSync(join(tmpdir(), "e2e-engine-"));
  const socketPath = join(dir, "docker.sock");
  const calls: EngineCall[] = [];
  const server = createServer((req, res) => {
    const url = req.url ?? "/";
    const path = url.split("?")[0]!.replace(/^\/v1\.\d+(?=\/)/, "");
    calls.push({ method: req.method ?? "GET", path, at: Date.now() });
    const upstream = request({ socketPath: target, method: req.method, path: url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on("error", () => res.destroy());
    res.on("close", () => upstream.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, resolve);
  });
  return {
    socketPath,
    calls,
    countsSince(since) {
      const counts = new Map<string, number>();
      for (const call of calls.slice(since)) {
        const key = `${call.method} ${foldPath(call.path)}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      return counts;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
      }),
  };
}

/** What the test needs of `docker inspect`. */
export interface ContainerView {
  readonly id: string;
  readonly name: string;
  readonly image: string;
  /** `Config.Env`, as `NAME=value` entries. */
  readonly env: readonly string[];
  /** The container's host name (dockerd: the first 12 hex digits of its id); the fakes name themselves by it. */
  readonly hostname: string;
  readonly running: boolean;
  readonly status: string;
  /** Address on its (only) network. */
  readonly ip: string;
  readonly network: string;
}

/** One Engine API call straight to dockerd (not through the counting socket): status and parsed body. */
export function engineCall(socketPath: string, method: string, path: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // plain-text error answer
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on("timeout", () => req.destroy(new Error(`${method} ${path}: dockerd did not answer within 10 s`)));
    req.on("error", reject);
    req.end();
  });
}

interface InspectBody {
  Id: string;
  Name: string;
  Config: { Image: string; Hostname: string; Env: string[] | null };
  State: { Running: boolean; Status: string };
  NetworkSettings: { Networks: Record<string, { IPAddress: string }> };
}

/** A container by name or id; undefined when dockerd has none. */
export async function inspectContainer(socketPath: string, ref: string): Promise<ContainerView | undefined> {
  const { status, body } = await engineCall(socketPath, "GET", `/containers/${encodeURIComponent(ref)}/json`);
  if (status === 404) return undefined;
  if (status !== 200) throw new Error(`inspect ${ref}: dockerd answered ${status}: ${JSON.stringify(body)}`);
  const inspect = body as InspectBody;
  const [network, settings] = Object.entries(inspect.NetworkSettings.Networks)[0] ?? ["", { IPAddress: "" }];
  return {
    id: inspect.Id,
    name: inspect.Name.replace(/^\//, ""),
    image: inspect.Config.Image,
    env: inspect.Config.Env ?? [],
    hostname: inspect.Config.Hostname,
    running: inspect.State.Running,
    status: inspect.State.Status,
    ip: settings.IPAddress,
    network,
  };
}

/** Names of every container (any state) whose name starts with `prefix`. */
export async function containerNames(socketPath: string, prefix: string): Promise<string[]> {
  const { status, body } = await engineCall(socketPath, "GET", "/containers/json?all=1");
  if (status !== 200) throw new Error(`container list: dockerd answered ${status}`);
  return (body as Array<{ Names: string[] }>).map((c) => (c.Names[0] ?? "").replace(/^\//, "")).filter((name) => name.startsWith(prefix));
}

/** Writes `docker logs` of every container to `<logDir>/<name>.log` (test artifacts). */
export async function saveContainerLogs(socketPath: string, logDir: string): Promise<void> {
  for (const name of await containerNames(socketPath, "")) {
    const logs = docker(["logs", "--timestamps", name], { allowFailure: true });
    writeFileSync(join(logDir, `${name}.log`), `${logs.stdout}${logs.stderr}`);
  }
}
