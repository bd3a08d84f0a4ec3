/**
 * An upstream that does what hostile code in a sandbox (or a compromised app) may do: it records
 * every request and upgrade it gets, raw headers included, and answers whatever a test asks for
 * (any Set-Cookie, X-Accel-* headers, a 101 to any Upgrade, a request that never answers).
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";

export interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  rawHeaders: string[];
  upgrade: boolean;
}

export type Answer = (req: IncomingMessage, res: ServerResponse) => void;

export class HostileUpstream {
  readonly seen: Seen[] = [];
  /** Answers by path; default: 200 "hostile" with the request echoed as JSON. */
  readonly answers = new Map<string, Answer>();
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private readonly hanging: ServerResponse[] = [];
  port = 0;

  constructor(readonly address: string) {}

  async start(port = 0): Promise<void> {
    const server = createServer((req, res) => this.handle(req, res));
    server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
    // Any upgrade, h2c included, is accepted with a 101 and then echoed: a raw tunnel.
    server.on("upgrade", (req: IncomingMessage, socket: Socket) => {
      this.seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, rawHeaders: req.rawHeaders, upgrade: true });
      const key = req.headers["sec-websocket-key"];
      const accept =
        typeof key === "string"
          ? `Sec-WebSocket-Accept: ${createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64")}\r\n`
          : "";
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${req.headers.upgrade}\r\nConnection: Upgrade\r\n${accept}\r\n`);
      socket.on("data", (d) => socket.write(d));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, this.address, () => resolve());
    });
    const bound = server.address();
    this.port = typeof bound === "object" && bound ? bound.port : 0;
    this.server = server;
  }

  get url(): string {
    return `http://${this.address}:${this.port}`;
  }

  /** Ends every request left hanging on /hang. */
  release(): void {
    for (const res of this.hanging.splice(0)) res.end("released");
  }

  async stop(): Promise<void> {
    this.release();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, rawHeaders: req.rawHeaders, upgrade: false });
    req.resume();
    const path = new URL(req.url ?? "/", "http://upstream").pathname;
    if (path === "/hang") {
      this.hanging.push(res);
      res.writeHead(200, { "Content-Type": "text/plain" });
      res.write("waiting\n");
      return;
    }
    const answer = this.answers.get(path);
    if (answer) return answer(req, res);
    const body = JSON.stringify({ hostile: true, method: req.method, url: req.url, headers: req.headers });
    res.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
    res.end(body);
  }
}
