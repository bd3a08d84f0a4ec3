/**
 * Requests to the edge harness from Node, as a browser or an attacker would send them to CloudFront: TLS to the
 * harness with the target host name as SNI and Host, any cookies and headers, and WebSocket upgrades. Used for the
 * refusals whose exact status the browser hides (a cross-origin answer without CORS headers).
 */
import { request } from "node:https";
import WebSocket from "ws";

export interface EdgeReply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

export class EdgeClient {
  constructor(private readonly port: number) {}

  send(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<EdgeReply> {
    const target = new URL(url);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port: this.port,
          servername: target.hostname,
          rejectUnauthorized: false,
          method: init.method ?? "GET",
          path: `${target.pathname}${target.search}`,
          headers: { host: target.hostname, ...init.headers },
          timeout: 10_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${url} timed out`)));
      req.on("error", reject);
      req.end(init.body);
    });
  }

  /**
   * Opens a WebSocket through the edge; resolves with "open" (and the first message) or the refusal: its status, or
   * status 0 with the reason when the handshake answer could not even be parsed.
   */
  openSocket(url: string, headers: Record<string, string> = {}): Promise<SocketAttempt> {
    return openSocket(`wss://127.0.0.1:${this.port}`, url, headers);
  }
}

export type SocketAttempt = { outcome: "open"; firstMessage: string } | { outcome: "refused"; status: number; reason?: string };

/**
 * Opens `url`'s path on `base` (`wss://127.0.0.1:<edge port>` or `ws://127.0.0.1:<proxy port>`) with `url`'s host
 * as Host (and SNI): a WebSocket exactly as the browser would send it to that host.
 */
export function openSocket(base: string, url: string, headers: Record<string, string> = {}): Promise<SocketAttempt> {
  {
    const target = new URL(url);
    // servername (SNI) is passed on to tls.connect, though ws's types do not list it.
    const options: WebSocket.ClientOptions & { servername: string } = {
      headers: { host: target.hostname, ...headers },
      servername: target.hostname,
      rejectUnauthorized: false,
      handshakeTimeout: 10_000,
    };
    const socket = new WebSocket(`${base}${target.pathname}${target.search}`, options);
    return new Promise((resolve) => {
      socket.once("unexpected-response", (_req, res) => {
        resolve({ outcome: "refused", status: res.statusCode ?? 0 });
        socket.terminate();
      });
      socket.once("message", (data) => {
        resolve({ outcome: "open", firstMessage: String(data) });
        socket.close();
      });
      socket.once("error", (error) => resolve({ outcome: "refused", status: 0, reason: error.message }));
    });
  }
}
