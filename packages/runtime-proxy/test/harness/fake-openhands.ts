/**
 * Contract fakes of OpenHands 1.7.0, shaped after ../shared/reference/openhands-1.7-facts.md §2.1-§4
 * and openhands-1.7-design-review.md §3-§5 (OpenHands itself cannot run here: it needs Docker).
 *
 * - FakeApp: the per-user app server. Its API answers carry sandbox URLs built from
 *   OH_SANDBOX_CONTAINER_URL_PATTERN = http://<user gateway>:{port} (exposed_urls[].url,
 *   conversation_url, agent_server_url), and stream-start streams a JSON array of start tasks
 *   piece by piece (a StreamingResponse, media type application/json: "[\n", task, ",\n" task, "]").
 * - FakeAgentServer: the sandbox's agent-server: /health and /alive open, /api/* behind
 *   X-Session-API-Key, CORS preflight answered by the server itself, and the WebSocket
 *   /sockets/events/<conversation id>?session_api_key=<key>.
 */
import { createServer, IncomingMessage, Server, ServerResponse } from "node:http";
import { WebSocketServer } from "ws";

function listen(server: Server, port = 0): Promise<number> {
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => {
    const address = server.address();
    resolve(typeof address === "object" && address ? address.port : 0);
  }));
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(payload) });
  res.end(payload);
}

/** What the browser would see of one sandbox, before the proxy rewrites it. */
export interface SandboxShape {
  id: string;
  gateway: string;
  sessionKey: string;
  agentPort: number;
  vscodePort: number;
  workerPorts: [number, number];
}

export function sandboxJson(s: SandboxShape) {
  return {
    id: s.id,
    created_by_user_id: null,
    sandbox_spec_id: "ghcr.io/openhands/agent-server:1.19.1-python",
    status: "RUNNING",
    session_api_key: s.sessionKey,
    exposed_urls: [
      { name: "AGENT_SERVER", url: `http://${s.gateway}:${s.agentPort}`, port: 8000 },
      { name: "VSCODE", url: `http://${s.gateway}:${s.vscodePort}/?tkn=${s.sessionKey}&folder=/workspace/project`, port: 8001 },
      { name: "WORKER_1", url: `http://${s.gateway}:${s.workerPorts[0]}`, port: 8011 },
      { name: "WORKER_2", url: `http://${s.gateway}:${s.workerPorts[1]}`, port: 8012 },
    ],
    created_at: "2026-11-28T20:00:00Z",
  };
}

export function conversationJson(s: SandboxShape, conversationId: string) {
  return {
    id: conversationId,
    created_by_user_id: null,
    sandbox_id: s.id,
    selected_repository: null,
    title: "Fix the flaky test",
    trigger: "gui",
    pr_number: [],
    llm_model: "litellm_proxy/claude",
    metrics: null,
    created_at: "2026-11-28T20:00:01Z",
    updated_at: "2026-11-28T20:05:00Z",
    sandbox_status: "RUNNING",
    execution_status: "idle",
    conversation_url: `http://${s.gateway}:${s.agentPort}/api/conversations/${conversationId}`,
    session_api_key: s.sessionKey,
  };
}

export function startTaskJson(s: SandboxShape, status: string, withUrl: boolean) {
  return {
    id: "5f1c0a3e2b7d4c9a8e6f1b2c3d4e5f60",
    created_by_user_id: null,
    status,
    detail: null,
    app_conversation_id: withUrl ? "c0ffee00c0ffee00c0ffee00c0ffee00" : null,
    sandbox_id: s.id,
    agent_server_url: withUrl ? `http://${s.gateway}:${s.agentPort}` : null,
    request: { initial_message: null, selected_repository: null },
    created_at: "2026-11-28T20:00:00Z",
    updated_at: "2026-11-28T20:00:02Z",
  };
}

export class FakeApp {
  readonly requests: Array<{ method: string; url: string; headers: IncomingMessage["headers"] }> = [];
  /** Resolves the paused stream-start; tests release it after checking the first part arrived. */
  releaseStream: () => void = () => undefined;
  private server = createServer((req, res) => this.handle(req, res));
  port = 0;

  constructor(readonly sandbox: SandboxShape) {}

  async start(port = 0): Promise<number> {
    this.server = createServer((req, res) => this.handle(req, res));
    this.port = await listen(this.server, port);
    return this.port;
  }

  stop(): Promise<void> {
    return close(this.server);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    const url = new URL(req.url ?? "/", "http://app");
    const s = this.sandbox;
    if (url.pathname === "/health") {
      res.writeHead(200, { "Content-Type": "application/json" });
      return void res.end('"OK"');
    }
    if (url.pathname === "/echo") return json(res, 200, { headers: req.headers, url: req.url });
    if (url.pathname === "/api/v1/sandboxes/search") return json(res, 200, { items: [sandboxJson(s)], next_page_id: null });
    if (url.pathname === "/api/v1/sandboxes") return json(res, 200, [sandboxJson(s)]);
    if (url.pathname === "/api/v1/app-conversations/search") {
      return json(res, 200, { items: [conversationJson(s, "c0ffee00c0ffee00c0ffee00c0ffee00")], next_page_id: null });
    }
    if (url.pathname === "/api/v1/app-conversations" && req.method === "GET") {
      return json(res, 200, [conversationJson(s, "c0ffee00c0ffee00c0ffee00c0ffee00")]);
    }
    if (url.pathname === "/api/v1/app-conversations/stream-start" && req.method === "POST") {
      // Streamed without Content-Length. The last task is cut mid-URL across two writes.
      res.writeHead(200, { "Content-Type": "application/json" });
      // OpenHands yields "[\n", then each task's model_dump_json() (compact), ",\n" between, then "]".
      res.write("[\n");
      res.write(JSON.stringify(startTaskJson(s, "WORKING", false)));
      const last = `,\n${JSON.stringify(startTaskJson(s, "READY", true))}]`;
      const cut = last.indexOf(String(s.agentPort)) + 2;
      new Promise<void>((resolve) => (this.releaseStream = resolve)).then(() => {
        res.write(last.slice(0, cut));
        setTimeout(() => res.end(last.slice(cut)), 30);
      });
      return;
    }
    if (/^\/api\/v1\/app-conversations\/[0-9a-f]{32}\/download$/.test(url.pathname)) {
      // A binary download on a rewritten path, holding text that looks like a sandbox URL.
      const body = Buffer.from(`PK\u0003\u0004 "url":"http://${s.gateway}:${s.agentPort}/" \u0000\u0001`, "latin1");
      res.writeHead(200, { "Content-Type": "application/zip", "Content-Length": body.length });
      return void res.end(body);
    }
    if (url.pathname === "/api/v1/web-client/config") return json(res, 200, { app_mode: "oss" });
    json(res, 404, { detail: "Not Found" });
  }
}

export class FakeAgentServer {
  readonly requests: Array<{ method: string; url: string; headers: IncomingMessage["headers"] }> = [];
  readonly sockets: Array<{ url: string; headers: IncomingMessage["headers"] }> = [];
  private server = createServer();
  private wss?: WebSocketServer;
  port = 0;

  constructor(readonly sessionKey: string, readonly name = "agent-server") {}

  async start(port = 0): Promise<number> {
    this.server = createServer((req, res) => this.handle(req, res));
    this.wss = new WebSocketServer({ noServer: true });
    this.server.on("upgrade", (req, socket, head) => {
      const url = new URL(req.url ?? "/", "http://sandbox");
      const match = /^\/sockets\/events\/([0-9a-f]{32})$/.exec(url.pathname);
      if (!match || url.searchParams.get("session_api_key") !== this.sessionKey) {
        socket.end("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
        return;
      }
      this.sockets.push({ url: req.url ?? "", headers: req.headers });
      this.wss?.handleUpgrade(req, socket, head, (ws) => {
        ws.send(JSON.stringify({ kind: "ConversationStateUpdateEvent", conversation_id: match[1], key: "execution_status", value: "idle" }));
        ws.on("message", (data) => ws.send(JSON.stringify({ kind: "echo", data: data.toString() })));
      });
    });
    this.port = await listen(this.server, port);
    return this.port;
  }

  async stop(): Promise<void> {
    for (const client of this.wss?.clients ?? []) client.terminate();
    this.wss?.close();
    await close(this.server);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    const url = new URL(req.url ?? "/", "http://sandbox");
    const origin = req.headers.origin;
    if (req.method === "OPTIONS") {
      // The agent-server's CORS middleware answers preflights without a key.
      res.writeHead(200, {
        "Access-Control-Allow-Origin": origin ?? "*",
        "Access-Control-Allow-Methods": "GET, POST, PATCH, DELETE, OPTIONS",
        "Access-Control-Allow-Headers": "X-Session-API-Key, Content-Type",
        "Content-Length": "0",
      });
      return void res.end();
    }
    if (url.pathname === "/health") {
      res.writeHead(200, { "Content-Type": "application/json" });
      return void res.end('"OK"');
    }
    if (url.pathname === "/alive") return json(res, 200, { status: "ok" });
    if (url.pathname === "/set-cookie") {
      res.writeHead(200, { "Set-Cookie": ["tossed=1; Domain=example.com; Path=/", "local=2; Path=/; HttpOnly"], "Content-Security-Policy": "default-src 'self'" });
      return void res.end("ok");
    }
    if (url.pathname === "/echo") return json(res, 200, { headers: req.headers, url: req.url, name: this.name });
    if (url.pathname.startsWith("/api/")) {
      const key = req.headers["x-session-api-key"] ?? url.searchParams.get("session_api_key");
      if (key !== this.sessionKey) return json(res, 401, { detail: "Unauthorized" });
      if (url.pathname === "/api/conversations") return json(res, 200, [{ id: url.searchParams.get("ids"), execution_status: "idle" }]);
      return json(res, 200, { ok: true, path: url.pathname });
    }
    res.writeHead(200, { "Content-Type": "text/html" });
    res.end(`<h1>${this.name}</h1>`);
  }
}
