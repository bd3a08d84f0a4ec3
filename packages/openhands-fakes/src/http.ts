/**
 * Small HTTP pieces every fake shares: bounded body reading, JSON answers, listening, and an outgoing call
 * with a timeout that can resolve host names the way a container's /etc/hosts would (extra_hosts).
 */
import { request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";

/** Bodies above this are refused with 413: a fake must not be made to buffer without bound. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

export class BodyTooLarge extends Error {}

export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new BodyTooLarge(`request body above ${limit} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** Parses a JSON body; `undefined` when the text is not JSON (the caller answers 422 as FastAPI does). */
export function parseJson(text: string): unknown {
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

export function sendText(res: ServerResponse, status: number, text: string, type: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": type, "content-length": String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

/** FastAPI's request-validation answer (422 with `detail` as a list of errors). */
export function sendValidationError(res: ServerResponse, location: string[], message: string): void {
  sendJson(res, 422, { detail: [{ type: "value_error", loc: location, msg: message, input: null }] });
}

export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      const address = server.address();
      resolve(typeof address === "object" && address ? address.port : port);
    });
  });
}

export function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

export interface OutgoingReply {
  readonly status: number;
  readonly headers: IncomingMessage["headers"];
  readonly body: string;
}

export interface OutgoingCall {
  readonly method: string;
  readonly url: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly timeoutMs?: number;
  /** Host name -> address, as `extra_hosts` writes into the container's /etc/hosts. */
  readonly hosts?: Readonly<Record<string, string>>;
}

export function call(options: OutgoingCall): Promise<OutgoingReply> {
  const target = new URL(options.url);
  if (target.protocol !== "http:") return Promise.reject(new Error(`${options.url}: only http:// is supported by this fake`));
  const address = options.hosts?.[target.hostname] ?? target.hostname;
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: address,
        port: target.port || 80,
        method: options.method,
        path: `${target.pathname}${target.search}`,
        headers: {
          host: target.host,
          ...(options.body !== undefined ? { "content-length": String(Buffer.byteLength(options.body)) } : {}),
          ...options.headers,
        },
        timeout: options.timeoutMs ?? 5000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${options.method} ${options.url} timed out`)));
    req.on("error", reject);
    req.end(options.body);
  });
}

/** A request as a fake saw it, for tests that check what reached it. */
export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage["headers"];
  readonly body: string;
}

/**
 * A hook answering paths that do not exist in the real server (a test's echo route, say). It is asked
 * first; returning true means it answered. Never used by the standalone entry points.
 */
export type ExtraRoute = (req: IncomingMessage, res: ServerResponse, body: string) => boolean | Promise<boolean>;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
