/**
 * The control API on 127.0.0.1:8081 (docs/CONTRACTS.md "Spawner API"), for OpenResty only:
 *   POST /v1/users/<slug>/ensure {sub, email, requestId?} → 200 {state:"running", upstream}
 *                                              | 202 {state:"starting", retryAfterMs, progress}
 * | 503 {error:"capacity", message, details} | 502 {error:"start_failed", message, stage, requestId}
 *                                              | 400 on a malformed slug
 *   GET  /v1/users/<slug>/start → 200 the start's progress (src/start-progress.ts), for that user's starting page
 *   GET  /v1/routes/resolve?host=<runtime host> → 200 {owner, upstream, kind, sessionKeySha256} | 404
 *   POST /v1/activity [{slug, at}] → 204
 *   GET  /healthz → 200 {status:"ok", checks} | 503 {status:"degraded", checks} (docker, database, events; src/health.ts)
 *   GET  /v1/stats → counters
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { HealthReport } from "./health";
import type { Logger } from "./log";
import { isUserSlug, slugForSub } from "./slug";
import { BadRequestError, CapacityError, StartFailedError, type Spawner } from "./spawner";

const MAX_BODY = 1024 * 1024;

/** A request body over the limit: answered 413 (not a connection reset). */
class TooLargeError extends Error {
  override name = "TooLargeError";
}

/** The client went away while sending its body: nothing to answer, nothing wrong here. */
function isClientAbort(req: IncomingMessage, error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return !req.complete && (code === "ECONNRESET" || code === "ECONNABORTED" || error.message === "aborted" || req.socket.destroyed);
}

export interface ControlApiOptions {
  spawner: Spawner;
  log: Logger;
  /** How long an ensure request waits for the start before answering 202. */
  ensureWaitMs: number;
  /** The dependencies' state for /healthz; without it /healthz reports only that the process answers. */
  health?: () => Promise<HealthReport>;
  /** Extra figures for /v1/stats (e.g. Docker filter refusals). */
  extraStats?: () => Record<string, number>;
}

function send(res: ServerResponse, status: number, body?: unknown) {
  if (body === undefined) {
    res.writeHead(status);
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), "cache-control": "no-store" });
  res.end(text);
}

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on("data", (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      // Memory exhaustion: request bodies are capped; reading stops at the limit and the answer is 413.
      if (size > MAX_BODY) {
        over = true;
        chunks.length = 0;
        req.pause();
        reject(new TooLargeError(`request body larger than ${MAX_BODY} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (over) return;
      const text = Buffer.concat(chunks).toString("utf8");
      if (!text) return resolve(undefined);
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new BadRequestError("request body is not valid JSON"));
      }
    });
    req.on("error", reject);
  });
}

export function createControlApi(options: ControlApiOptions): Server {
  const { spawner, log } = options;
  const ensurePath = /^\/v1\/users\/([^/]*)\/ensure$/;
  const startPath = /^\/v1\/users\/([^/]*)\/start$/;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://spawner");
    const method = req.method ?? "GET";
    let m: RegExpExecArray | null;

    if (url.pathname === "/healthz" && method === "GET") {
      const report: HealthReport = options.health ? await options.health() : { status: "ok", checks: {} };
      return send(res, report.status === "ok" ? 200 : 503, report);
    }
    if (url.pathname === "/v1/stats" && method === "GET") return send(res, 200, { ...spawner.stats(), ...(options.extraStats?.() ?? {}) });
    if (url.pathname === "/v1/routes/resolve" && method === "GET") {
      const route = spawner.resolveHost(url.searchParams.get("host"));
      if (!route) return send(res, 404, { error: "not_found" });
      return send(res, 200, route);
    }
    if (url.pathname === "/v1/activity" && method === "POST") {
      spawner.recordActivity(await readJson(req));
      return send(res, 204);
    }
    m = method === "GET" ? startPath.exec(url.pathname) : null;
    if (m) {
      if (!isUserSlug(m[1]))
        return send(res, 400, { error: "bad_request", message: "malformed user slug (expected 16 characters of [a-z2-7])" });
      return send(res, 200, spawner.startReport(m[1]));
    }
    m = method === "POST" ? ensurePath.exec(url.pathname) : null;
    if (m) {
      // No decoding: a slug never needs it, and a stray '%' must not become an error path.
      const slug = m[1]!;
      if (!isUserSlug(slug))
        return send(res, 400, { error: "bad_request", message: `malformed user slug (expected 16 characters of [a-z2-7])` });
      const body = (await readJson(req)) as { sub?: unknown; email?: unknown; requestId?: unknown } | undefined;
      if (!body || typeof body.sub !== "string" || body.sub.length === 0 || body.sub.length > 256) {
        return send(res, 400, { error: "bad_request", message: "body must be {sub, email} with sub a non-empty string" });
      }
      // Confused deputy: a proxy bug or a forged call cannot start (or reach) one user's app for another sub.
      if (slugForSub(body.sub) !== slug) return send(res, 400, { error: "bad_request", message: "slug does not belong to sub" });
      // The proxy's request id (nginx $request_id) names the start in the logs and on the page of a failed start.
      const work = spawner.ensure(slug, typeof body.requestId === "string" ? body.requestId : undefined);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), options.ensureWaitMs);
      });
      try {
        const outcome = await Promise.race([work, timeout]).catch((error: Error) => {
          spawner.failureReported(slug);
          throw error;
        });
        if (outcome === "timeout") {
          work.catch(() => undefined);
          spawner.answeredStarting(slug, work);
          return send(res, 202, { state: "starting", retryAfterMs: 2000, progress: spawner.startReport(slug) });
        }
        return send(res, 200, { state: "running", upstream: outcome });
      } catch (error) {
        if (!(error instanceof StartFailedError)) throw error;
        // The page of a failed start names the stage in words and shows the request id an admin finds in the logs.
        const report = spawner.startReport(slug);
        log.warn("start failed", { path: url.pathname, error: error.message, requestId: report.requestId });
        return send(res, 502, {
          error: "start_failed",
          message: error.message,
          stage: report.failure?.stage ?? null,
          requestId: report.requestId,
        });
      } finally {
        if (timer) clearTimeout(timer);
      }
    }
    if (
      ["/healthz", "/v1/stats", "/v1/routes/resolve", "/v1/activity"].includes(url.pathname) ||
      ensurePath.test(url.pathname) ||
      startPath.test(url.pathname)
    ) {
      return send(res, 405, { error: "method_not_allowed" });
    }
    return send(res, 404, { error: "not_found" });
  };

  const server = createServer({ connectionsCheckingInterval: 1_000 }, (req, res) => {
    handle(req, res).catch((error: Error) => {
      if (error instanceof BadRequestError) return send(res, 400, { error: "bad_request", message: error.message });
      if (error instanceof CapacityError)
        return send(res, 503, { error: "capacity", message: error.message, details: error.details ?? null });
      if (error instanceof TooLargeError) {
        // The rest of the body is not read: the connection closes after the answer.
        res.setHeader("connection", "close");
        return send(res, 413, { error: "too_large", message: error.message });
      }
      const path = (req.url ?? "").split("?")[0];
      // An aborted upload is the client's doing: logged quietly, never at error level.
      if (isClientAbort(req, error)) {
        log.info("control api request aborted by the client", { path });
        return res.destroy();
      }
      if (error instanceof StartFailedError) log.warn("start failed", { path, error: error.message });
      else log.error("control api failure", { path, error: error.message });
      if (!res.headersSent) send(res, 502, { error: "start_failed", message: error.message });
    });
  });
  // Slow clients: headers and bodies must arrive in bounded time (the proxy is the only caller; it is quick).
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  return server;
}
