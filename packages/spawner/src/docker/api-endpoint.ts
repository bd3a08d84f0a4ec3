/**
 * One filtered Docker Engine API per user app: a unix socket in <dockerApiDir>/<slug>/docker.sock, mounted
 * (as a directory, so a restart of the spawner leaves no stale bind) at /run/ohdocker in the app container,
 * which gets DOCKER_HOST=unix:///run/ohdocker/docker.sock. Calls outside the allow-list are refused;
 * the rest go to the real daemon, byte for byte except for the rewritten creates and filtered lists.
 */
import { chmodSync, existsSync, mkdirSync, unlinkSync } from "node:fs";
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { dirname } from "node:path";
import type { Logger } from "../log";
import { classifyDockerCall, filterContainerList, ownsContainerName, ownsVolume, reviewCreate, splitImageRef, type CreateContext } from "./api-policy";
import type { SandboxCreateRecords } from "./create-records";
import { daemonMessage, type DockerEngineClient } from "./engine-client";

const MAX_CREATE_BODY = 1024 * 1024;

export type SandboxStartReservation = { ok: false; message: string } | { ok: true; done(containerId: string): Promise<void> };

export interface FilteredEndpointOptions {
  slug: string;
  socketPath: string;
  daemon: DockerEngineClient;
  createContext: CreateContext;
  records: SandboxCreateRecords;
  /** Host-wide sandbox limit: a refusal, or a slot to release once the start is done. */
  reserveSandboxStart: () => SandboxStartReservation;
  log: Logger;
  onRefusal?: (reason: string) => void;
}

export class FilteredDockerEndpoint {
  private server: Server | undefined;

  constructor(private readonly options: FilteredEndpointOptions) {}

  get socketPath(): string {
    return this.options.socketPath;
  }

  async listen(): Promise<void> {
    const { socketPath } = this.options;
    mkdirSync(dirname(socketPath), { recursive: true, mode: 0o755 });
    if (existsSync(socketPath)) unlinkSync(socketPath);
    const server = createServer((req, res) => {
      this.handle(req, res).catch((error: Error) => {
        this.options.log.error("docker filter failure", { error: error.message });
        if (!res.headersSent) json(res, 500, { message: `openhands-team docker filter: ${error.message}` });
        else res.destroy();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(socketPath, () => resolve());
    });
    chmodSync(socketPath, 0o660);
    this.server = server;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    if (existsSync(this.options.socketPath)) unlinkSync(this.options.socketPath);
  }

  private refuse(res: ServerResponse, status: number, message: string) {
    this.options.onRefusal?.(message);
    this.options.log.warn("docker call refused", { slug: this.options.slug, message });
    json(res, status, { message });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { slug, daemon, createContext } = this.options;
    const method = req.method ?? "GET";
    const url = req.url ?? "/";
    const classified = classifyDockerCall(method, url);
    if (!classified.ok) {
      req.resume();
      return this.refuse(res, classified.status, classified.message);
    }
    const { call } = classified;
    const versionPrefix = /^\/v1\.\d{1,3}(?=\/)/.exec(url)?.[0] ?? "";
    const query = url.includes("?") ? url.slice(url.indexOf("?")) : "";

    switch (call.op) {
      case "version":
        return this.forward(req, res, url);
      case "list": {
        const upstream = await daemon.raw("GET", url);
        if (upstream.status !== 200) return sendRaw(res, upstream.status, upstream.body);
        // Cross-tenant listing: others' sandboxes (and their session keys in Env) never appear.
        return json(res, 200, filterContainerList(slug, parseJson(upstream.body)));
      }
      case "inspect": {
        const upstream = await daemon.raw("GET", url);
        if (upstream.status !== 200) return sendRaw(res, upstream.status, upstream.body);
        const parsed = parseJson(upstream.body) as { Name?: unknown } | undefined;
        // Ownership is decided on the name the daemon returns, so an Id or a short Id cannot reach another user's container.
        if (!ownsContainerName(slug, parsed?.Name)) return this.refuse(res, 404, `No such container: ${call.ref}`);
        return sendRaw(res, 200, upstream.body);
      }
      case "action":
      case "remove": {
        req.resume();
        const target = await daemon.raw("GET", `${versionPrefix}/containers/${call.ref}/json`);
        if (target.status !== 200) return sendRaw(res, target.status, target.body);
        const container = parseJson(target.body) as { Id?: string; Name?: string } | undefined;
        // Cross-tenant control: stop, pause, remove or start only the user's own containers.
        if (!container?.Id || !ownsContainerName(slug, container.Name)) return this.refuse(res, 404, `No such container: ${call.ref}`);
        let reservation: SandboxStartReservation | undefined;
        if (call.op === "action" && (call.action === "start" || call.action === "unpause")) {
          reservation = this.options.reserveSandboxStart();
          // Host exhaustion: the host-wide sandbox limit holds across users.
          if (!reservation.ok) return this.refuse(res, 503, reservation.message);
        }
        // The checked Id, not the caller's reference, goes to the daemon: no race on a name.
        const path = call.op === "remove" ? `${versionPrefix}/containers/${container.Id}${query}` : `${versionPrefix}/containers/${container.Id}/${call.action}${query}`;
        let upstream;
        try {
          upstream = await daemon.raw(method, path);
        } finally {
          if (reservation?.ok) await reservation.done(container.Id).catch(() => undefined);
        }
        if (call.op === "remove" && upstream.status === 204) this.options.records.remove(slug, container.Name!.slice(1));
        return sendRaw(res, upstream.status, upstream.body);
      }
      case "create": {
        const raw = await readLimited(req, MAX_CREATE_BODY);
        if (raw === undefined) return this.refuse(res, 413, "openhands-team docker filter: create body too large");
        const original = parseJson(raw);
        const review = reviewCreate(call.name, original, createContext);
        if (!review.ok) return this.refuse(res, 403, review.message);
        const upstream = await daemon.raw("POST", url, review.body);
        if (upstream.status === 201) {
          try {
            this.options.records.save(slug, call.name, original as Record<string, unknown>);
          } catch (error) {
            this.options.log.error("sandbox create record not written", { slug, name: call.name, error: (error as Error).message });
          }
          this.options.log.info("sandbox created", { slug, name: call.name });
        }
        return sendRaw(res, upstream.status, upstream.body);
      }
      case "image-inspect": {
        req.resume();
        // Image probing: only the pinned agent-server image and image ids are visible.
        if (call.ref !== createContext.image && !/^(sha256:)?[0-9a-f]{12,64}$/.test(call.ref)) return this.refuse(res, 404, `No such image: ${call.ref}`);
        return this.forward(req, res, url);
      }
      case "image-pull": {
        req.resume();
        const wanted = splitImageRef(createContext.image);
        const asked = splitImageRef(call.ref);
        // Disk exhaustion and foreign code: the app may pull the pinned agent-server image and nothing else.
        if (asked.repository !== wanted.repository || asked.tag !== wanted.tag) return this.refuse(res, 403, `openhands-team docker filter: pulling ${call.ref} is not allowed`);
        return this.forward(req, res, url);
      }
      case "volume": {
        req.resume();
        // Cross-tenant data: only volumes named after the user's own sandboxes.
        if (!ownsVolume(slug, call.name)) return this.refuse(res, 404, `get ${call.name}: no such volume`);
        return this.forward(req, res, url);
      }
    }
  }

  /** Streams a request to the daemon and its answer back unchanged (image pulls are streamed). */
  private forward(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    return new Promise((resolve) => {
      const headers: Record<string, string> = { host: "docker" };
      const auth = req.headers["x-registry-auth"];
      if (typeof auth === "string") headers["x-registry-auth"] = auth;
      const upstream = httpRequest({ socketPath: this.options.daemon.socketPath, agent: false, method: req.method, path, headers }, (answer) => {
        const out: Record<string, string> = {};
        for (const name of ["content-type", "api-version", "docker-experimental", "ostype", "server"]) {
          const value = answer.headers[name];
          if (typeof value === "string") out[name] = value;
        }
        res.writeHead(answer.statusCode ?? 502, out);
        answer.pipe(res);
        answer.on("end", () => resolve());
        answer.on("error", () => resolve());
      });
      upstream.on("error", (error) => {
        if (!res.headersSent) json(res, 502, { message: `docker daemon unreachable: ${error.message}` });
        resolve();
      });
      upstream.end();
    });
  }
}

function json(res: ServerResponse, status: number, body: unknown) {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function sendRaw(res: ServerResponse, status: number, body: Buffer) {
  if (status === 204 || status === 304 || body.length === 0) {
    res.writeHead(status);
    res.end();
    return;
  }
  res.writeHead(status, { "content-type": "application/json", "content-length": body.length });
  res.end(body);
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    return undefined;
  }
}

function readLimited(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) over = true;
      else chunks.push(chunk);
    });
    req.on("end", () => resolve(over ? undefined : Buffer.concat(chunks)));
    req.on("error", () => resolve(undefined));
  });
}

export { daemonMessage };
