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
import {
  classifyDockerCall,
  filterContainerList,
  mayLookUpContainer,
  ownsContainerName,
  ownsVolume,
  reviewCreateText,
  splitImageRef,
  type CreateContext,
} from "./api-policy";
import type { SandboxCreateRecords } from "./create-records";
import { daemonMessage, type DockerEngineClient, type DockerResponse } from "./engine-client";

const MAX_CREATE_BODY = 1024 * 1024;
/** Per user: connections to the filtered Docker API at once (OpenHands uses a handful). */
export const FILTER_MAX_CONNECTIONS = 32;

export type SandboxStartReservation = { ok: false; message: string } | { ok: true; done(containerId: string): Promise<void> };

export interface FilteredEndpointOptions {
  slug: string;
  socketPath: string;
  daemon: DockerEngineClient;
  createContext: CreateContext;
  records: SandboxCreateRecords;
  /** Host-wide sandbox limit: a refusal, or a slot to release once the start is done. */
  reserveSandboxStart: () => SandboxStartReservation;
  /** The host-wide sandbox limit checked before a create: a refusal message when no sandbox could start now. */
  sandboxCreateRefusal?: () => string | undefined;
  /** Sandbox containers of this user that exist now, in any state (the view, kept current by events). */
  containerCount: () => number;
  /** users.maxSandboxContainersPerUser: created, running and stopped containers together. */
  maxContainers: number;
  /** Tells the view about a container the filter just created (so the next count includes it). */
  created: (containerId: string) => Promise<void>;
  log: Logger;
  onRefusal?: (reason: string) => void;
}

/** dockerd's answer headers, in dockerd's order and spelling; own answers carry the same (no tell-tale difference). */
const DAEMON_HEADERS = ["Api-Version", "Content-Type", "Docker-Experimental", "Ostype", "Server"] as const;

export class FilteredDockerEndpoint {
  private server: Server | undefined;
  /** The daemon's own header values, from its latest answer. */
  private daemonHeaders: Record<string, string> | undefined;
  /** Creates of this user, one at a time, so the per-user container count cannot be raced. */
  private createQueue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: FilteredEndpointOptions) {}

  get socketPath(): string {
    return this.options.socketPath;
  }

  async listen(): Promise<void> {
    const { socketPath } = this.options;
    mkdirSync(dirname(socketPath), { recursive: true, mode: 0o755 });
    if (existsSync(socketPath)) unlinkSync(socketPath);
    // Timeouts are checked every second (Node's default is every 30 s).
    const server = createServer({ connectionsCheckingInterval: 1_000 }, (req, res) => {
      this.handle(req, res).catch((error: Error) => {
        this.options.log.error("docker filter failure", { error: error.message });
        if (!res.headersSent) json(res, 500, { message: `openhands-team docker filter: ${error.message}` });
        else res.destroy();
      });
    });
    // Slow or idle clients: headers within 10 s, a request body within 60 s (image pulls stream only their answer).
    server.headersTimeout = 10_000;
    server.requestTimeout = 60_000;
    // File-descriptor exhaustion by one app: connections to its Docker API are bounded; other users' sockets are separate.
    server.maxConnections = FILTER_MAX_CONNECTIONS;
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

  private remember(answer: DockerResponse): DockerResponse {
    const headers = daemonHeadersOf(answer.headers);
    if (headers.Server) this.daemonHeaders = headers;
    return answer;
  }

  /** Sends a daemon answer with the daemon's headers (and only those). */
  private relay(res: ServerResponse, answer: DockerResponse, body: Buffer = answer.body) {
    this.remember(answer);
    sendDaemonStyle(res, answer.status, body, daemonHeadersOf(answer.headers));
  }

  /**
   * Existence oracle: the answer for another user's container (or volume) is byte for byte dockerd's answer
   * for one that does not exist: same status, body (dockerd ends it with a newline) and headers.
   */
  private async notFound(res: ServerResponse, message: string, reason: string) {
    this.options.onRefusal?.(reason);
    this.options.log.warn("docker call refused", { slug: this.options.slug, message: reason });
    if (!this.daemonHeaders) this.remember(await this.options.daemon.raw("GET", "/version"));
    sendDaemonStyle(res, 404, Buffer.from(`${JSON.stringify({ message })}\n`), {
      ...this.daemonHeaders,
      "Content-Type": "application/json",
    });
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
    const { call, versionPrefix } = classified;
    // Every path below is built again from the classified call: no caller query or path text reaches dockerd.
    const v = versionPrefix;

    switch (call.op) {
      case "version":
        req.resume();
        return this.forward(req, res, `${v}/version`);
      case "list": {
        req.resume();
        const upstream = this.remember(await daemon.raw("GET", `${v}/containers/json?all=${call.all ? 1 : 0}`));
        if (upstream.status !== 200) return this.relay(res, upstream);
        // Cross-tenant listing: others' sandboxes (and their session keys in Env) never appear.
        return this.relay(
          res,
          upstream,
          Buffer.from(`${JSON.stringify(filterContainerList(slug, parseJson(upstream.body), call.limit))}\n`),
        );
      }
      case "inspect": {
        req.resume();
        // Existence oracle: a reference that cannot be the user's is answered as missing without asking dockerd.
        if (!mayLookUpContainer(slug, call.ref))
          return this.notFound(res, `No such container: ${call.ref}`, "container reference outside the user's sandboxes");
        const upstream = await daemon.raw("GET", `${v}/containers/${call.ref}/json`);
        if (upstream.status !== 200) return this.relay(res, upstream);
        const parsed = parseJson(upstream.body) as { Name?: unknown } | undefined;
        // Ownership is decided on the name the daemon returns, so an Id cannot reach another user's container.
        if (!ownsContainerName(slug, parsed?.Name)) return this.notFound(res, `No such container: ${call.ref}`, "another user's container");
        return this.relay(res, upstream);
      }
      case "action":
      case "remove": {
        req.resume();
        if (!mayLookUpContainer(slug, call.ref))
          return this.notFound(res, `No such container: ${call.ref}`, "container reference outside the user's sandboxes");
        const target = await daemon.raw("GET", `${v}/containers/${call.ref}/json`);
        if (target.status !== 200) return this.relay(res, target);
        const container = parseJson(target.body) as { Id?: string; Name?: string } | undefined;
        // Cross-tenant control: stop, pause, remove or start only the user's own containers.
        if (!container?.Id || !/^[0-9a-f]{64}$/.test(container.Id) || !ownsContainerName(slug, container.Name)) {
          return this.notFound(res, `No such container: ${call.ref}`, "another user's container");
        }
        let reservation: SandboxStartReservation | undefined;
        if (call.op === "action" && (call.action === "start" || call.action === "unpause")) {
          reservation = this.options.reserveSandboxStart();
          // Host exhaustion: the host-wide sandbox limit holds across users.
          if (!reservation.ok) return this.refuse(res, 503, reservation.message);
        }
        // The checked Id, not the caller's reference, goes to the daemon: no race on a name.
        const path =
          call.op === "remove"
            ? `${v}/containers/${container.Id}${call.query}`
            : `${v}/containers/${container.Id}/${call.action}${call.query}`;
        let upstream: Awaited<ReturnType<typeof daemon.raw>>;
        try {
          upstream = await daemon.raw(method, path);
        } finally {
          if (reservation?.ok) await reservation.done(container.Id).catch(() => undefined);
        }
        if (call.op === "remove" && upstream.status === 204) this.options.records.remove(slug, container.Name!.slice(1));
        return this.relay(res, upstream);
      }
      case "create": {
        const raw = await readLimited(req, MAX_CREATE_BODY);
        if (raw === "aborted") {
          // The app hung up mid-body: nothing to answer, logged quietly.
          this.options.log.debug("docker create body aborted by the caller", { slug });
          return void res.destroy();
        }
        if (raw === undefined) {
          // The rest of an oversized body is never read: the answer closes the connection.
          res.setHeader("connection", "close");
          return this.refuse(res, 413, "openhands-team docker filter: create body too large");
        }
        // Case folding, duplicate keys, unknown fields: the body is parsed strictly and rebuilt from scratch.
        const review = reviewCreateText(call.name, raw, createContext);
        if (!review.ok) return this.refuse(res, review.status, review.message);
        // Host exhaustion at create: refused before it exists, a sandbox is not left in `created`, which OpenHands
        // shows as STARTING forever (its start would be refused by the same limit).
        const full = this.options.sandboxCreateRefusal?.();
        if (full) return this.refuse(res, 503, full);
        const run = this.createQueue.then(() =>
          this.create(res, `${v}/containers/create?name=${encodeURIComponent(call.name)}`, call.name, review.body),
        );
        this.createQueue = run.catch(() => undefined);
        return run;
      }
      case "image-inspect": {
        req.resume();
        const id = /^(sha256:)?([0-9a-f]{64})$/.exec(call.ref)?.[2];
        if (call.ref !== createContext.image) {
          // Image probing: only the pinned agent-server image is visible, by reference or by its own Id (what
          // docker-py asks for a sandbox's `container.image`); any other answers as a missing image does.
          const pinned = id
            ? (parseJson((await daemon.raw("GET", `${v}/images/${createContext.image}/json`)).body) as { Id?: unknown } | undefined)
            : undefined;
          if (!id || pinned?.Id !== `sha256:${id}`) {
            return this.notFound(
              res,
              `no such image: ${call.ref}: No such image: ${id ? `sha256:${id}` : call.ref}`,
              "image outside the pinned agent-server",
            );
          }
        }
        return this.forward(req, res, `${v}/images/${call.ref}/json`);
      }
      case "image-pull": {
        req.resume();
        const wanted = splitImageRef(createContext.image);
        const asked = splitImageRef(call.ref);
        // Disk exhaustion and foreign code: the app may pull the pinned agent-server image and nothing else.
        if (asked.repository !== wanted.repository || asked.tag !== wanted.tag)
          return this.refuse(res, 403, `openhands-team docker filter: pulling ${call.ref} is not allowed`);
        return this.forward(
          req,
          res,
          `${v}/images/create?fromImage=${encodeURIComponent(wanted.repository)}&tag=${encodeURIComponent(wanted.tag)}`,
        );
      }
      case "volume": {
        req.resume();
        // Cross-tenant data: only volumes named after the user's own sandboxes.
        if (!ownsVolume(slug, call.name))
          return this.notFound(res, `get ${call.name}: no such volume`, "volume outside the user's sandboxes");
        return this.forward(req, res, `${v}/volumes/${call.name}`);
      }
    }
  }

  private async create(res: ServerResponse, path: string, name: string, body: Record<string, unknown>): Promise<void> {
    const { slug, daemon, maxContainers } = this.options;
    // Disk and name-space exhaustion: created-but-never-started (or stopped) containers count too.
    if (this.options.containerCount() >= maxContainers) {
      return this.refuse(
        res,
        403,
        `openhands-team docker filter: this user already has ${maxContainers} sandbox containers ` +
          `(users.maxSandboxContainersPerUser); delete old conversations first`,
      );
    }
    const upstream = await daemon.raw("POST", path, body);
    if (upstream.status === 201) {
      const id = (parseJson(upstream.body) as { Id?: string } | undefined)?.Id;
      if (id) await this.options.created(id).catch(() => undefined);
      try {
        // The record holds the rebuilt body, which is reviewed again when it is replayed.
        this.options.records.save(slug, name, body);
      } catch (error) {
        this.options.log.error("sandbox create record not written", { slug, name, error: (error as Error).message });
      }
      this.options.log.info("sandbox created", { slug, name });
    }
    return this.relay(res, upstream);
  }

  /** Streams a request to the daemon and its answer back unchanged (image pulls are streamed). */
  private forward(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    return new Promise((resolve) => {
      const headers: Record<string, string> = { host: "docker" };
      const auth = req.headers["x-registry-auth"];
      if (typeof auth === "string" && path.includes("/images/create")) headers["x-registry-auth"] = auth;
      const upstream = httpRequest(
        { socketPath: this.options.daemon.socketPath, agent: false, method: req.method, path, headers },
        (answer) => {
          const out: Record<string, string> = daemonHeadersOf(answer.headers);
          if (out.Server) this.daemonHeaders = { ...out };
          out.Date = typeof answer.headers.date === "string" ? answer.headers.date : new Date().toUTCString();
          if (typeof answer.headers["content-length"] === "string") out["Content-Length"] = answer.headers["content-length"];
          res.writeHead(answer.statusCode ?? 502, out);
          answer.pipe(res);
          answer.on("end", () => resolve());
          answer.on("error", () => resolve());
        },
      );
      upstream.on("error", (error) => {
        if (!res.headersSent) json(res, 502, { message: `docker daemon unreachable: ${error.message}` });
        resolve();
      });
      // Open files held by abandoned calls: when the app hangs up, the daemon connection is closed too.
      res.on("close", () => {
        if (!res.writableFinished) upstream.destroy();
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

/** The daemon's headers of an answer, in dockerd's order and spelling. */
function daemonHeadersOf(headers: IncomingMessage["headers"]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of DAEMON_HEADERS) {
    const value = headers[name.toLowerCase()];
    if (typeof value === "string") out[name] = value;
  }
  return out;
}

/** Writes an answer as dockerd does: its headers in its order, a JSON body with Content-Type and Content-Length. */
function sendDaemonStyle(res: ServerResponse, status: number, body: Buffer, daemonHeaders: Record<string, string> | undefined) {
  const empty = status === 204 || status === 304 || body.length === 0;
  const headers: Record<string, string | number> = {};
  for (const name of DAEMON_HEADERS) {
    const value = name === "Content-Type" ? (empty ? undefined : (daemonHeaders?.[name] ?? "application/json")) : daemonHeaders?.[name];
    if (value !== undefined) headers[name] = value;
  }
  // dockerd (Go) writes Date before Content-Length; Node would append its own after every other header.
  headers.Date = new Date().toUTCString();
  if (!empty) headers["Content-Length"] = body.length;
  res.writeHead(status, headers);
  res.end(empty ? undefined : body);
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    return undefined;
  }
}

function readLimited(req: IncomingMessage, limit: number): Promise<Buffer | undefined | "aborted"> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on("data", (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      // Memory and time: reading stops at the limit (the caller answers 413 and closes the connection).
      if (size > limit) {
        over = true;
        chunks.length = 0;
        req.pause();
        resolve(undefined);
      } else chunks.push(chunk);
    });
    req.on("end", () => resolve(over ? undefined : Buffer.concat(chunks)));
    req.on("error", () => resolve(over ? undefined : "aborted"));
    req.on("aborted", () => resolve(over ? undefined : "aborted"));
  });
}

export { daemonMessage };
