/**
 * A small Docker Engine API client over the daemon's unix socket.
 *
 * The spawner speaks the Engine API itself rather than through dockerode: the per-app filter must relay
 * bodies and streams byte for byte anyway, the spawner's own needs are a dozen calls, and dockerode's
 * transport (docker-modem with ssh2 and optional native modules) does not bundle into one file.
 */
import { request as httpRequest, type IncomingMessage } from "node:http";

export class DockerApiError extends Error {
  override name = "DockerApiError";
  constructor(
    readonly status: number,
    readonly daemonMessage: string,
    readonly method: string,
    readonly path: string,
  ) {
    super(`docker ${method} ${path}: ${status} ${daemonMessage}`);
  }
}

export interface DockerResponse {
  status: number;
  body: Buffer;
  headers: IncomingMessage["headers"];
}

export class DockerEngineClient {
  constructor(
    readonly socketPath: string,
    private readonly timeoutMs = 60_000,
  ) {}

  /** One request; resolves with any status (callers decide what an error is). */
  raw(method: string, path: string, body?: unknown): Promise<DockerResponse> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          socketPath: this.socketPath,
          // A fresh connection per call: a pooled one may point at a daemon that has restarted since.
          agent: false,
          method,
          path,
          headers: { host: "docker", ...(payload ? { "content-type": "application/json", "content-length": String(payload.length) } : {}) },
          timeout: this.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }));
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`docker ${method} ${path}: no answer within ${this.timeoutMs} ms`)));
      req.on("error", reject);
      req.end(payload);
    });
  }

  /** A request whose non-2xx/304 answers become DockerApiError (with the daemon's message). */
  async call<T = unknown>(method: string, path: string, body?: unknown): Promise<T | undefined> {
    const res = await this.raw(method, path, body);
    if (res.status >= 200 && res.status < 300) {
      if (res.body.length === 0) return undefined;
      const text = res.body.toString("utf8");
      try {
        return JSON.parse(text) as T;
      } catch {
        return text as unknown as T;
      }
    }
    if (res.status === 304) return undefined;
    throw new DockerApiError(res.status, daemonMessage(res.body), method, path);
  }

  /** Like call, but a 404 resolves with undefined. */
  async find<T>(path: string): Promise<T | undefined> {
    try {
      return await this.call<T>("GET", path);
    } catch (error) {
      if (error instanceof DockerApiError && error.status === 404) return undefined;
      throw error;
    }
  }

  /** Follows a newline-delimited JSON stream (GET /events); `onEnd` fires once when it stops for any reason. */
  stream(path: string, onObject: (value: Record<string, unknown>) => void, onEnd: (error?: Error) => void): { close(): void } {
    let ended = false;
    const finish = (error?: Error) => {
      if (ended) return;
      ended = true;
      onEnd(error);
    };
    const req = httpRequest(
      { socketPath: this.socketPath, agent: false, method: "GET", path, headers: { host: "docker" } },
      (res: IncomingMessage) => {
        if ((res.statusCode ?? 0) !== 200) {
          res.resume();
          finish(new Error(`docker GET ${path}: ${res.statusCode}`));
          return;
        }
        let buffer = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          buffer += chunk;
          for (let newline = buffer.indexOf("\n"); newline >= 0; newline = buffer.indexOf("\n")) {
            const line = buffer.slice(0, newline).trim();
            buffer = buffer.slice(newline + 1);
            if (!line) continue;
            try {
              onObject(JSON.parse(line) as Record<string, unknown>);
            } catch {
              // A garbled event line is skipped; the next resync corrects the view.
            }
          }
        });
        res.on("end", () => finish());
        res.on("error", (error) => finish(error));
      },
    );
    req.on("error", (error) => finish(error));
    req.end();
    return {
      close: () => {
        ended = true;
        req.destroy();
      },
    };
  }
}

export function daemonMessage(body: Buffer): string {
  const text = body.toString("utf8");
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === "string") return parsed.message;
  } catch {
    // not JSON
  }
  return text.slice(0, 300);
}
