/**
 * A scripted Docker Engine API on a unix socket, for the unit tests only: it answers the calls docker-py makes
 * with dockerd's shapes (Engine API 1.41) and records them, and lets a test put a container in states a real
 * engine cannot be made to reach on demand (dead, restarting) or an old StartedAt. The same flows run against the
 * real engine in engine.test.ts.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface RecordedCall {
  readonly method: string;
  readonly path: string;
  readonly body: unknown;
}

export interface DoubleContainer {
  Id: string;
  Name: string;
  Image: string;
  Created: string;
  State: { Status: string; Running: boolean; StartedAt: string };
  Config: { Env: string[]; WorkingDir: string; Labels: Record<string, string>; Image: string; Cmd: string[] };
  HostConfig: Record<string, unknown> & {
    NetworkMode?: string;
    PortBindings?: Record<string, Array<{ HostIp: string; HostPort: string }>>;
    ExtraHosts?: string[];
  };
  NetworkSettings: { Ports: Record<string, Array<{ HostIp: string; HostPort: string }> | null> | null };
}

export interface DockerDouble {
  readonly dockerHost: string;
  readonly calls: RecordedCall[];
  readonly containers: Map<string, DoubleContainer>;
  /** Images by reference; `pullable` ones appear when pulled. */
  addImage(ref: string): string;
  pullable: Set<string>;
  /** Called after a container starts (the test runs its agent-server there). */
  onStart?: (container: DoubleContainer) => void | Promise<void>;
  onStop?: (container: DoubleContainer) => void | Promise<void>;
  find(name: string): DoubleContainer | undefined;
  setStatus(name: string, status: string, startedAt?: string): void;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status, { "content-length": "0" });
    return void res.end();
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) });
  res.end(text);
}

export async function startDockerDouble(): Promise<DockerDouble> {
  const dir = mkdtempSync(join(tmpdir(), "docker-double-"));
  const socketPath = join(dir, "docker.sock");
  const calls: RecordedCall[] = [];
  const containers = new Map<string, DoubleContainer>();
  const images = new Map<string, { Id: string; RepoTags: string[] }>();
  const double: DockerDouble = {
    dockerHost: `unix://${socketPath}`,
    calls,
    containers,
    pullable: new Set(),
    addImage(ref: string) {
      const id = `sha256:${randomBytes(32).toString("hex")}`;
      images.set(ref, { Id: id, RepoTags: [ref] });
      return id;
    },
    find: (name) => [...containers.values()].find((container) => container.Name === `/${name}`),
    setStatus(name, status, startedAt) {
      const container = double.find(name);
      if (!container) throw new Error(`no container ${name}`);
      container.State = { Status: status, Running: status === "running", StartedAt: startedAt ?? container.State.StartedAt };
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };

  const lookup = (idOrName: string): DoubleContainer | undefined =>
    containers.get(idOrName) ??
    double.find(decodeURIComponent(idOrName)) ??
    [...containers.values()].find((container) => container.Id.startsWith(idOrName));
  const imageByRef = (ref: string): { Id: string; RepoTags: string[] } | undefined =>
    images.get(ref) ?? [...images.values()].find((image) => image.Id === `sha256:${ref}` || image.Id === ref);

  async function route(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    const url = new URL(req.url ?? "/", "http://docker");
    const method = req.method ?? "GET";
    if (url.pathname === "/version") return send(res, 200, { ApiVersion: "1.41", Version: "20.10.24" });
    const versioned = /^\/v1\.41(\/.*)$/.exec(url.pathname);
    if (!versioned) return send(res, 404, { message: "page not found" });
    const path = versioned[1]!;
    if (path === "/containers/json" && method === "GET") {
      const all = url.searchParams.get("all") === "1";
      return send(
        res,
        200,
        [...containers.values()].filter((c) => all || c.State.Running).map((c) => ({ Id: c.Id, Names: [c.Name], State: c.State.Status })),
      );
    }
    if (path === "/containers/create" && method === "POST") {
      const spec = body as {
        Image: string;
        Env?: string[];
        WorkingDir?: string;
        Labels?: Record<string, string>;
        Cmd?: string[];
        HostConfig?: DoubleContainer["HostConfig"];
      };
      const image = imageByRef(spec.Image);
      if (!image) return send(res, 404, { message: `No such image: ${spec.Image}` });
      const name = url.searchParams.get("name") ?? randomBytes(6).toString("hex");
      if (double.find(name)) return send(res, 409, { message: `Conflict. The container name "/${name}" is already in use` });
      const id = randomBytes(32).toString("hex");
      containers.set(id, {
        Id: id,
        Name: `/${name}`,
        Image: image.Id,
        Created: new Date().toISOString(),
        State: { Status: "created", Running: false, StartedAt: "0001-01-01T00:00:00Z" },
        Config: {
          Env: spec.Env ?? [],
          WorkingDir: spec.WorkingDir ?? "",
          Labels: spec.Labels ?? {},
          Image: spec.Image,
          Cmd: spec.Cmd ?? [],
        },
        HostConfig: spec.HostConfig ?? {},
        NetworkSettings: { Ports: {} },
      });
      return send(res, 201, { Id: id, Warnings: [] });
    }
    const containerPath = /^\/containers\/([^/]+)(?:\/(json|start|stop|pause|unpause))?$/.exec(path);
    if (containerPath) {
      const container = lookup(containerPath[1]!);
      if (!container) return send(res, 404, { message: `No such container: ${decodeURIComponent(containerPath[1]!)}` });
      const action = containerPath[2];
      if (action === "json" && method === "GET") return send(res, 200, container);
      if (action === "start" && method === "POST") {
        if (container.State.Running) return send(res, 304);
        container.State = { Status: "running", Running: true, StartedAt: new Date().toISOString() };
        const ports: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
        for (const [port, bindings] of Object.entries(container.HostConfig.PortBindings ?? {})) {
          ports[port] = bindings.map((binding) => ({ HostIp: binding.HostIp || "0.0.0.0", HostPort: binding.HostPort }));
        }
        container.NetworkSettings = { Ports: ports };
        await double.onStart?.(container);
        return send(res, 204);
      }
      if (action === "pause" && method === "POST") {
        container.State = { ...container.State, Status: "paused", Running: true };
        return send(res, 204);
      }
      if (action === "unpause" && method === "POST") {
        container.State = { ...container.State, Status: "running", Running: true };
        return send(res, 204);
      }
      if (action === "stop" && method === "POST") {
        container.State = { ...container.State, Status: "exited", Running: false };
        await double.onStop?.(container);
        return send(res, 204);
      }
      if (!action && method === "DELETE") {
        if (container.State.Running) return send(res, 409, { message: "You cannot remove a running container" });
        containers.delete(container.Id);
        return send(res, 204);
      }
    }
    const imagePath = /^\/images\/(.+)\/json$/.exec(path);
    if (imagePath && method === "GET") {
      const image = imageByRef(imagePath[1]!);
      return image ? send(res, 200, image) : send(res, 404, { message: `No such image: ${imagePath[1]}` });
    }
    if (path === "/images/create" && method === "POST") {
      const ref = `${url.searchParams.get("fromImage")}:${url.searchParams.get("tag")}`;
      if (!double.pullable.has(ref))
        return send(res, 500, { message: `Get "https://${ref.split("/")[0]}/v2/": dial tcp: lookup: no such host` });
      double.addImage(ref);
      res.writeHead(200, { "content-type": "application/json" });
      return void res.end(`{"status":"Pulling from ${ref}"}\n{"status":"Status: Downloaded newer image for ${ref}"}\n`);
    }
    const volumePath = /^\/volumes\/([^/]+)$/.exec(path);
    if (volumePath) return send(res, 404, { message: `get ${decodeURIComponent(volumePath[1]!)}: no such volume` });
    return send(res, 404, { message: "page not found" });
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const body = text ? (JSON.parse(text) as unknown) : undefined;
      calls.push({ method: req.method ?? "GET", path: req.url ?? "/", body });
      route(req, res, body).catch((error: Error) => send(res, 500, { message: error.message }));
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, () => resolve()));
  return double;
}
