/**
 * The remote sandbox API the spawner serves to users' OpenHands apps in ECS mode: the contract OpenHands'
 * `RemoteSandboxService` calls (docs/ecs.md, section 1), on one listener. Every call carries `X-API-Key`, the
 * user's key (sandbox-api-key.ts): the key names the user, and every answer is about that user's sandboxes only.
 *
 *   POST /start              {image, command, working_dir, environment, session_id, ...} → runtime
 *   GET  /sessions/{id}      → runtime | 404
 *   GET  /sessions/batch?ids=a&ids=b → [runtime, ...] (the caller's only; others left out)
 *   GET  /list               → {"runtimes": [runtime, ...]} (the caller's starting and running ones)
 *   POST /pause|/resume|/stop {runtime_id} → runtime | 404
 *
 * This module is the HTTP side (keys, bodies, limits, status codes); the backend answers the calls.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { parseStrictJson } from "../docker/strict-json";
import type { Logger } from "../log";
import { parseRuntimeIdBody, parseStartRequest, SandboxApiError, sessionIdParameter, type StartRequest } from "./sandbox-requests";
import type { RuntimeStatus } from "./sandbox-task";

/** The runtime object OpenHands reads (section 1: session_id, runtime_id, status, session_api_key, url). */
export interface RuntimeObject {
  session_id: string;
  runtime_id: string;
  status: RuntimeStatus;
  /** The sandbox's session key while its task is starting or running; null when paused or gone. */
  session_api_key: string | null;
  url: string;
  /** The ECS task's lastStatus, for people reading the answer. */
  pod_status: string;
}

export interface SandboxApiHandlers {
  /** The user a key belongs to, if that key is valid and the user's sandboxes are open. */
  userOf(key: string): string | undefined;
  start(slug: string, request: StartRequest): Promise<RuntimeObject>;
  get(slug: string, sessionId: string): Promise<RuntimeObject | undefined>;
  batch(slug: string, sessionIds: string[]): Promise<RuntimeObject[]>;
  list(slug: string): Promise<RuntimeObject[]>;
  pause(slug: string, runtimeId: string): Promise<RuntimeObject | undefined>;
  resume(slug: string, runtimeId: string): Promise<RuntimeObject | undefined>;
  stop(slug: string, runtimeId: string): Promise<RuntimeObject | undefined>;
}

/** Bodies are small JSON objects; ECS takes at most 8192 characters of overrides anyway. */
export const MAX_BODY_BYTES = 64 * 1024;
/** OpenHands asks for one page of sandboxes (100) at a time. */
export const MAX_BATCH_IDS = 100;

export class SandboxApiServer {
  private readonly server: Server;

  constructor(
    private readonly handlers: SandboxApiHandlers,
    private readonly log: Logger,
  ) {
    this.server = createServer({ connectionsCheckingInterval: 1_000 }, (req, res) => void this.handle(req, res));
    // Slow clients (slowloris): headers and bodies must arrive in bounded time.
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 30_000;
    this.server.keepAliveTimeout = 5_000;
    // File-descriptor exhaustion: a bounded number of connections for all apps together.
    this.server.maxConnections = 512;
  }

  async listen(host: string, port: number): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    const address = this.server.address() as AddressInfo;
    return `http://${address.family === "IPv6" ? `[${address.address}]` : address.address}:${address.port}`;
  }

  async close(): Promise<void> {
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const body = await this.route(req);
      send(res, 200, body);
    } catch (error) {
      if (error instanceof SandboxApiError) {
        // The rest of an oversized body is not read: the connection goes after the answer.
        if (error.status === 413) {
          res.setHeader("connection", "close");
          res.once("finish", () => req.destroy());
        }
        send(res, error.status, { detail: error.message });
        return;
      }
      this.log.error("sandbox API call failed", { method: req.method, path: pathOf(req), error: (error as Error).message });
      send(res, 502, { detail: `the sandbox call failed: ${(error as Error).message}` });
    }
  }

  private async route(req: IncomingMessage): Promise<unknown> {
    const url = new URL(req.url ?? "/", "http://sandbox-api");
    const key = req.headers["x-api-key"];
    // Impersonation: the key alone names the user; a missing, forged or other-secret key, or one of a user not open, is 401.
    const slug = typeof key === "string" ? this.handlers.userOf(key) : undefined;
    if (!slug) {
      await drain(req);
      throw new SandboxApiError(401, "X-API-Key is missing or not a valid sandbox API key");
    }
    const method = req.method ?? "GET";
    const path = url.pathname;
    if (path === "/start" || path === "/pause" || path === "/resume" || path === "/stop") {
      if (method !== "POST") throw new SandboxApiError(405, `${path} takes POST`);
      const body = await readJson(req);
      if (path === "/start") return this.handlers.start(slug, parseStartRequest(body));
      const runtimeId = parseRuntimeIdBody(body);
      const answer = await this.handlers[path === "/pause" ? "pause" : path === "/resume" ? "resume" : "stop"](slug, runtimeId);
      // Another user's runtime, or none: the same 404, so ids of others cannot be probed.
      if (!answer) throw new SandboxApiError(404, `runtime ${runtimeId} not found`);
      return answer;
    }
    await drain(req);
    if (method !== "GET") throw new SandboxApiError(405, `${path} takes GET`);
    if (path === "/list") return { runtimes: await this.handlers.list(slug) };
    if (path === "/sessions/batch") {
      const ids = url.searchParams.getAll("ids");
      if (ids.length > MAX_BATCH_IDS) throw new SandboxApiError(400, `ids: ${ids.length} given, ${MAX_BATCH_IDS} at most`);
      return this.handlers.batch(slug, [...new Set(ids.map((id) => sessionIdParameter(id, "ids")))]);
    }
    const match = /^\/sessions\/([^/]+)$/.exec(path);
    if (match) {
      let id: string;
      try {
        id = decodeURIComponent(match[1]!);
      } catch {
        throw new SandboxApiError(400, "the session id is not valid percent-encoding");
      }
      const answer = await this.handlers.get(slug, sessionIdParameter(id, "session id"));
      if (!answer) throw new SandboxApiError(404, `session ${id} not found`);
      return answer;
    }
    throw new SandboxApiError(404, `${path} is not a sandbox API path`);
  }
}

function pathOf(req: IncomingMessage): string {
  return (req.url ?? "/").split("?")[0]!.slice(0, 100);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), "cache-control": "no-store" });
  res.end(text);
}

/** Reads a JSON body of at most MAX_BODY_BYTES; parsed strictly (a key twice is refused, not resolved one way). */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const body = await readBody(req);
  if (body.length === 0) throw new SandboxApiError(400, "the body is empty: a JSON object is expected");
  try {
    return parseStrictJson(body);
  } catch (error) {
    throw new SandboxApiError(400, `the body is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * The body, bounded. Memory exhaustion: an oversized body is refused before it is read (Content-Length) or as soon
 * as it passes the limit; reading stops there and the connection is closed after the 413.
 */
function readBody(req: IncomingMessage): Promise<Buffer> {
  const tooLarge = () => new SandboxApiError(413, `the body is larger than ${MAX_BODY_BYTES} bytes`);
  if (Number(req.headers["content-length"] ?? "0") > MAX_BODY_BYTES) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    req.on("data", (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        settled = true;
        req.pause();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (settled) return;
      settled = true;
      resolve(Buffer.concat(chunks));
    });
    req.on("error", (error) => {
      if (settled) return;
      settled = true;
      reject(error);
    });
  });
}

/** Discards a body nobody reads (bounded like any other). */
async function drain(req: IncomingMessage): Promise<void> {
  await readBody(req);
}
