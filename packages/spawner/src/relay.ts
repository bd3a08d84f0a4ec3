/**
 * The webhook relay: one HTTP listener per user on that user's gateway (port 3000 in production), the
 * only door from a user's sandboxes to their app. It passes the sandbox callback paths and nothing else:
 *   /api/v1/webhooks/*  conversation and event webhooks, secrets lookups (X-Session-API-Key / X-Access-Token)
 *   /mcp/mcp            the app's MCP server (without it every agent start fails)
 * Without it a sandbox that reached an app could call /api/v1/sandboxes/search and read session keys.
 * The listen address is whatever the backend says sandboxes call (the gateway); tests use loopback addresses.
 * ECS mode has one listener for every user instead (src/ecs/relay-shared-listener.ts), built from the same limits,
 * path checks and forwarding (`boundedServer`, `relayRefusal`, `refuse`, `forward`).
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Logger } from "./log";

const WEBHOOK_PATH = /^\/api\/v1\/webhooks\/[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/;
const MCP_PATH = "/mcp/mcp";
const ALLOWED_METHODS = new Set(["GET", "POST", "DELETE"]);
/** Per user: connections the relay accepts at once (one sandbox cannot take the spawner's open files). */
export const RELAY_MAX_CONNECTIONS = 64;
/** Largest request body relayed (webhook events and MCP calls are small). */
export const RELAY_MAX_BODY = 8 * 1024 * 1024;
export interface RelayLimits {
  /** Connections at once per user. */
  maxConnections: number;
  /** Request headers must arrive within this time. */
  headersTimeoutMs: number;
  /** The whole request (headers and body) must arrive within this time. */
  requestTimeoutMs: number;
  /** A connection (either side) quiet for this long is closed. */
  idleTimeoutMs: number;
}

export const DEFAULT_RELAY_LIMITS: RelayLimits = {
  maxConnections: RELAY_MAX_CONNECTIONS,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  idleTimeoutMs: 120_000,
};
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
  "forwarded",
  "x-forwarded-for",
  "x-forwarded-host",
  "x-forwarded-proto",
  "x-real-ip",
  "cookie",
]);

/** Decides whether a sandbox's request may reach the app; returns a refusal reason or undefined. */
export function relayRefusal(method: string, rawUrl: string, headers: Record<string, string | string[] | undefined>): string | undefined {
  const queryAt = rawUrl.indexOf("?");
  const path = queryAt >= 0 ? rawUrl.slice(0, queryAt) : rawUrl;
  // Path confusion: encoded characters, dot segments or doubled slashes could be normalised into another route by the app.
  if (/%|\.\.|\/\/|\\|;/.test(path)) return "path not allowed";
  if (!ALLOWED_METHODS.has(method)) return `method ${method} not allowed`;
  // Protocol switch: an Upgrade (WebSocket, h2c) would turn the relay into a tunnel.
  if (headers.upgrade) return "upgrade not allowed";
  if (path === MCP_PATH || WEBHOOK_PATH.test(path)) return undefined;
  return "only /api/v1/webhooks/* and /mcp/mcp are relayed";
}

interface RelayListener {
  server: Server;
  upstream: () => string | undefined;
  /** The first three octets of the user's /24 ("10.240.7."), the only callers this listener serves. */
  network: string;
}

/** Whether a caller's address (IPv4, or IPv4-mapped IPv6) is in the /24 whose prefix is `network` ("a.b.c."). */
export function isOnNetwork(remoteAddress: string | undefined, network: string): boolean {
  const address = (remoteAddress ?? "").replace(/^::ffff:/i, "");
  return /^(\d{1,3}\.){3}\d{1,3}$/.test(address) && address.startsWith(network);
}

export class WebhookRelay {
  private readonly listeners = new Map<string, RelayListener>();
  forwarded = 0;
  refused = 0;

  protected readonly limits: RelayLimits;

  constructor(
    protected readonly port: number,
    protected readonly log: Logger,
    private readonly onTraffic: (slug: string) => void,
    limits: Partial<RelayLimits> = {},
  ) {
    this.limits = { ...DEFAULT_RELAY_LIMITS, ...limits };
  }

  /** An HTTP server with the relay's limits (time, connections); `handler` decides and forwards each request. */
  protected boundedServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Server {
    const { maxConnections, headersTimeoutMs, requestTimeoutMs, idleTimeoutMs } = this.limits;
    // Timeouts are checked every second (Node's default is every 30 s).
    const server = createServer({ connectionsCheckingInterval: Math.min(1_000, headersTimeoutMs) }, handler);
    server.keepAliveTimeout = 5_000;
    // Slow headers or bodies (slowloris) from a sandbox: each request must arrive in bounded time.
    server.headersTimeout = headersTimeoutMs;
    server.requestTimeout = requestTimeoutMs;
    // Idle connections held open: closed after a bounded quiet time.
    server.setTimeout(idleTimeoutMs, (socket) => socket.destroy());
    // File-descriptor exhaustion by one user's sandboxes: connections per relay are bounded (others' relays are not touched).
    server.maxConnections = maxConnections;
    return server;
  }

  isOpen(slug: string): boolean {
    return this.listeners.has(slug);
  }

  /** Starts the user's listener on `address` (idempotent); `upstream` names the user's app at call time. */
  async open(slug: string, address: string, upstream: () => string | undefined): Promise<void> {
    if (this.listeners.has(slug)) return;
    const octets = /^(\d{1,3}\.\d{1,3}\.\d{1,3}\.)\d{1,3}$/.exec(address);
    if (!octets) throw new Error(`relay for ${slug}: ${address} is not an IPv4 gateway address`);
    const server = this.boundedServer((req, res) => this.handle(slug, req, res));
    const listener = { server, upstream, network: octets[1]! };
    this.listeners.set(slug, listener);
    let lastError: Error | undefined;
    // The gateway address appears with the bridge; a fresh network may need a moment.
    for (let attempt = 0; attempt < 20; attempt += 1) {
      try {
        await new Promise<void>((resolve, reject) => {
          server.once("error", reject);
          server.listen(this.port, address, () => {
            server.off("error", reject);
            resolve();
          });
        });
        this.log.info("relay listening", { slug, address, port: this.port });
        return;
      } catch (error) {
        lastError = error as Error;
        if ((error as NodeJS.ErrnoException).code !== "EADDRNOTAVAIL") break;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    this.listeners.delete(slug);
    throw new Error(`relay for ${slug} cannot listen on ${address}:${this.port}: ${lastError?.message}`);
  }

  async close(slug: string): Promise<void> {
    const listener = this.listeners.get(slug);
    if (!listener) return;
    this.listeners.delete(slug);
    listener.server.closeAllConnections();
    await new Promise<void>((resolve) => listener.server.close(() => resolve()));
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.listeners.keys()].map((slug) => this.close(slug)));
  }

  private handle(slug: string, req: IncomingMessage, res: ServerResponse) {
    const method = req.method ?? "GET";
    const url = req.url ?? "/";
    const listener = this.listeners.get(slug);
    // Cross-user callbacks: only the user's own bridge (their sandboxes) may call; another user's sandbox that
    // reaches this gateway by routing would otherwise act on this user's app with its own session key.
    const refusal =
      !listener || !isOnNetwork(req.socket.remoteAddress, listener.network)
        ? "callers outside this user's network are refused"
        : relayRefusal(method, url, req.headers);
    if (refusal) {
      this.refuse(slug, req, res, refusal);
      return;
    }
    this.forward(slug, listener?.upstream(), req, res);
  }

  /** Answers 403 with the reason, logged and counted. */
  protected refuse(slug: string | undefined, req: IncomingMessage, res: ServerResponse, reason: string): void {
    this.refused += 1;
    const url = req.url ?? "/";
    this.log.warn("relay refused", {
      slug,
      method: req.method,
      path: url.split("?")[0]?.slice(0, 200),
      from: req.socket.remoteAddress,
      reason,
    });
    req.resume();
    res.writeHead(403, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: "forbidden", message: reason }));
  }

  /** Forwards an admitted request to the user's app at `target` (503 when the app is not running), within the body limits. */
  protected forward(slug: string, target: string | undefined, req: IncomingMessage, res: ServerResponse): void {
    const method = req.method ?? "GET";
    const url = req.url ?? "/";
    if (!target) {
      req.resume();
      res.writeHead(503, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: "unavailable", message: "the app is not running" }));
      return;
    }
    this.onTraffic(slug);
    this.forwarded += 1;
    const upstreamUrl = new URL(url, target);
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
    }
    const declared = Number(req.headers["content-length"] ?? 0);
    // Memory and time held by an oversized body: refused with 413 before anything reaches the app.
    if (declared > RELAY_MAX_BODY) {
      res.writeHead(413, { "content-type": "application/json", connection: "close" });
      res.end(JSON.stringify({ error: "too_large", message: `request bodies are limited to ${RELAY_MAX_BODY} bytes` }));
      return;
    }
    const upstream = httpRequest(upstreamUrl, { method, headers, agent: false, timeout: this.limits.idleTimeoutMs }, (answer) => {
      const out: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(answer.headers))
        if (value !== undefined && !HOP_BY_HOP.has(name) && name !== "set-cookie") out[name] = value;
      res.writeHead(answer.statusCode ?? 502, out);
      answer.pipe(res);
    });
    // An app that stops answering mid-request does not hold the connection pair open.
    upstream.on("timeout", () => upstream.destroy(new Error(`no answer from the app within ${this.limits.idleTimeoutMs} ms`)));
    // Open-file exhaustion by aborted requests: when the caller goes, its upstream connection goes too.
    res.on("close", () => {
      if (!res.writableFinished) upstream.destroy();
    });
    let received = 0;
    let answeredHere = false;
    req.on("data", (chunk: Buffer) => {
      received += chunk.length;
      // A chunked body that grows past the limit is cut off (no Content-Length to refuse it by).
      if (received > RELAY_MAX_BODY && !answeredHere) {
        answeredHere = true;
        upstream.destroy();
        req.unpipe(upstream);
        if (!res.headersSent) {
          res.writeHead(413, { "content-type": "application/json", connection: "close" });
          res.end(JSON.stringify({ error: "too_large", message: `request bodies are limited to ${RELAY_MAX_BODY} bytes` }));
        } else res.destroy();
      }
    });
    upstream.on("error", (error) => {
      if (answeredHere) return;
      if (res.destroyed || req.destroyed) {
        // The caller aborted: expected, quiet.
        this.log.debug("relay request aborted by the caller", { slug });
        return;
      }
      if (res.headersSent) {
        res.destroy();
        return;
      }
      this.log.warn("relay upstream error", { slug, error: error.message });
      res.writeHead(502, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: "bad_gateway", message: "the app did not answer" }));
    });
    req.pipe(upstream);
  }
}
