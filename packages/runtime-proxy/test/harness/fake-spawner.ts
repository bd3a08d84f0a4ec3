/**
 * Contract fake of the spawner's control API (docs/CONTRACTS.md "Spawner API"): ensure, resolve,
 * activity, healthz. It counts every call, so tests can prove when the proxy did not ask.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

export interface Route {
  owner: string;
  upstream: string;
  kind: "agent-server" | "vscode" | "worker" | "unknown";
  sessionKeySha256: string | null;
}

export type EnsureAnswer = { status: number; body: unknown };

export class FakeSpawner {
  readonly counts = { ensure: 0, resolve: 0, activity: 0, healthz: 0, start: 0 };
  readonly ensureBodies: Array<{ slug: string; body: unknown }> = [];
  readonly activity: Array<{ slug: string; at: number }> = [];
  readonly resolvedHosts: string[] = [];
  /** Answer of ensure per slug; default: 404 (unknown user). */
  readonly ensure = new Map<string, () => EnsureAnswer>();
  readonly routes = new Map<string, Route>();
  /** Answer of GET /v1/users/<slug>/start per slug; default: 200 idle. Every slug asked for is recorded. */
  readonly progress = new Map<string, () => EnsureAnswer>();
  readonly progressAsked: string[] = [];
  /**
   * The answer of GET /healthz, shaped as the spawner's (packages/spawner src/health.ts): 200 {status:"ok", checks}
   * or 503 {status:"degraded", checks}; "hang": the request is read and never answered (a blocked event loop).
   */
  health: EnsureAnswer | "hang" = {
    status: 200,
    body: { status: "ok", checks: { docker: { ok: true }, database: { ok: true }, events: { ok: true } } },
  };
  private server?: Server;

  constructor(readonly port: number) {}

  async start(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => server.listen(this.port, "127.0.0.1", resolve));
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  resetCounts(): void {
    for (const key of Object.keys(this.counts) as Array<keyof FakeSpawner["counts"]>) this.counts[key] = 0;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    const url = new URL(req.url ?? "/", "http://spawner");
    const reply = (status: number, body?: unknown) => {
      // As the spawner answers (node:http): a 204 has neither a body nor a Content-Length.
      if (body === undefined) {
        res.writeHead(status);
        res.end();
        return;
      }
      const payload = JSON.stringify(body);
      res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(payload) });
      res.end(payload);
    };
    const ensure = /^\/v1\/users\/([^/]+)\/ensure$/.exec(url.pathname);
    if (req.method === "POST" && ensure) {
      this.counts.ensure += 1;
      const slug = ensure[1] ?? "";
      this.ensureBodies.push({ slug, body: JSON.parse(text || "null") });
      if (!/^[a-z2-7]{16}$/.test(slug)) return reply(400, { error: "bad slug" });
      const answer = this.ensure.get(slug)?.() ?? { status: 404, body: { error: "unknown" } };
      return reply(answer.status, answer.body);
    }
    const start = /^\/v1\/users\/([^/]+)\/start$/.exec(url.pathname);
    if (req.method === "GET" && start) {
      this.counts.start += 1;
      const slug = start[1] ?? "";
      this.progressAsked.push(slug);
      if (!/^[a-z2-7]{16}$/.test(slug)) return reply(400, { error: "bad slug" });
      const answer = this.progress.get(slug)?.() ?? { status: 200, body: { state: "idle", stage: null, typicalMs: null } };
      return reply(answer.status, answer.body);
    }
    if (req.method === "GET" && url.pathname === "/v1/routes/resolve") {
      this.counts.resolve += 1;
      const host = url.searchParams.get("host") ?? "";
      this.resolvedHosts.push(host);
      const route = this.routes.get(host);
      return route ? reply(200, route) : reply(404, { error: "no such route" });
    }
    if (req.method === "POST" && url.pathname === "/v1/activity") {
      this.counts.activity += 1;
      this.activity.push(...(JSON.parse(text) as Array<{ slug: string; at: number }>));
      return reply(204);
    }
    if (req.method === "GET" && url.pathname === "/healthz") {
      this.counts.healthz += 1;
      if (this.health === "hang") return;
      return reply(this.health.status, this.health.body);
    }
    reply(404, { error: "not found" });
  }
}
