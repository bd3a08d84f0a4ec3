/**
 * The proxy tests' OpenHands: the contract fakes of @openhands-team/openhands-fakes (app 1.7.0, agent-server
 * 1.19.1), plus the fixtures these tests need and the real fakes cannot give without a Docker engine and a
 * reachable sandbox:
 *
 * - FakeApp: the app fake, with canned sandbox and conversation answers whose URLs are built from
 *   OH_SANDBOX_CONTAINER_URL_PATTERN = http://<user gateway>:{port} (typed against the fake's own SandboxInfo
 *   and StartTask, so their shape cannot drift from it), a stream-start that streams a JSON array of start tasks
 *   piece by piece (StreamingResponse: "[\n", task, ",\n" task, "]") and pauses until the test releases it,
 *   a binary download, and `/echo`. Everything else (health, settings, webhooks, start tasks, SPA) is the fake's.
 * - FakeAgentServer: the agent-server fake (health, CORS preflight for the app origin, X-Session-API-Key on
 *   /api/*), plus `/echo`, `/set-cookie`, a worker page on other paths, a canned conversation list, and an
 *   events WebSocket that echoes raw frames, so the tests can see frames cross the proxy both ways.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { WebSocketServer } from "ws";
import {
  startAgentServer,
  startOpenHandsApp,
  type RunningAgentServer,
  type RunningOpenHandsApp,
  type SandboxInfo,
  type StartTask,
} from "@openhands-team/openhands-fakes";
import { APP_HOST } from "./proxy";

function json(res: ServerResponse, status: number, body: unknown): true {
  const payload = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(payload) });
  res.end(payload);
  return true;
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

export function sandboxJson(s: SandboxShape): SandboxInfo {
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

export function startTaskJson(s: SandboxShape, status: StartTask["status"], withUrl: boolean): StartTask {
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
  private app?: RunningOpenHandsApp;
  port = 0;

  constructor(readonly sandbox: SandboxShape) {}

  async start(port = 0): Promise<number> {
    this.app = await startOpenHandsApp({
      version: "1.7.0",
      port,
      env: { OH_SANDBOX_KIND: "DockerSandboxServiceInjector", OH_SANDBOX_CONTAINER_URL_PATTERN: `http://${this.sandbox.gateway}:{port}` },
      extraRoutes: (req, res) => this.fixture(req, res),
    });
    this.port = this.app.port;
    return this.port;
  }

  async stop(): Promise<void> {
    await this.app?.close();
  }

  private fixture(req: IncomingMessage, res: ServerResponse): boolean {
    this.requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    const url = new URL(req.url ?? "/", "http://app");
    const s = this.sandbox;
    if (url.pathname === "/echo") return json(res, 200, { headers: req.headers, url: req.url });
    if (url.pathname === "/api/v1/sandboxes/search") return json(res, 200, { items: [sandboxJson(s)], next_page_id: null });
    if (url.pathname === "/api/v1/sandboxes" && req.method === "GET") return json(res, 200, [sandboxJson(s)]);
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
      return true;
    }
    if (/^\/api\/v1\/app-conversations\/[0-9a-f]{32}\/download$/.test(url.pathname)) {
      // A binary download on a rewritten path, holding text that looks like a sandbox URL.
      const body = Buffer.from(`PK\u0003\u0004 "url":"http://${s.gateway}:${s.agentPort}/" \u0000\u0001`, "latin1");
      res.writeHead(200, { "Content-Type": "application/zip", "Content-Length": body.length });
      res.end(body);
      return true;
    }
    return false;
  }
}

export class FakeAgentServer {
  readonly requests: Array<{ method: string; url: string; headers: IncomingMessage["headers"] }> = [];
  readonly sockets: Array<{ url: string; headers: IncomingMessage["headers"] }> = [];
  private server?: RunningAgentServer;
  private wss?: WebSocketServer;
  port = 0;

  constructor(
    readonly sessionKey: string,
    readonly name = "agent-server",
  ) {}

  async start(port = 0): Promise<number> {
    const wss = new WebSocketServer({ noServer: true });
    this.wss = wss;
    this.server = await startAgentServer({
      version: "1.19.1",
      name: this.name,
      env: { OH_SESSION_API_KEYS_0: this.sessionKey, OH_ALLOW_CORS_ORIGINS_0: `https://${APP_HOST}` },
      ports: { AGENT_SERVER: port },
      extraRoutes: (req, res) => this.fixture(req, res),
      extraUpgrade: (req, socket, head) => {
        const url = new URL(req.url ?? "/", "http://sandbox");
        const match = /^\/sockets\/events\/([0-9a-f]{32})$/.exec(url.pathname);
        if (!match || url.searchParams.get("session_api_key") !== this.sessionKey) return false;
        this.sockets.push({ url: req.url ?? "", headers: req.headers });
        wss.handleUpgrade(req, socket, head, (ws) => {
          ws.send(
            JSON.stringify({ kind: "ConversationStateUpdateEvent", conversation_id: match[1], key: "execution_status", value: "idle" }),
          );
          ws.on("message", (data) => ws.send(JSON.stringify({ kind: "echo", data: data.toString() })));
        });
        return true;
      },
    });
    this.port = this.server.ports.AGENT_SERVER;
    return this.port;
  }

  async stop(): Promise<void> {
    for (const client of this.wss?.clients ?? []) client.terminate();
    this.wss?.close();
    await this.server?.close();
  }

  private fixture(req: IncomingMessage, res: ServerResponse): boolean {
    this.requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    const url = new URL(req.url ?? "/", "http://sandbox");
    if (url.pathname === "/set-cookie") {
      res.writeHead(200, {
        "Set-Cookie": ["tossed=1; Domain=example.com; Path=/", "local=2; Path=/; HttpOnly"],
        "Content-Security-Policy": "default-src 'self'",
      });
      res.end("ok");
      return true;
    }
    if (url.pathname === "/echo") return json(res, 200, { headers: req.headers, url: req.url, name: this.name });
    if (url.pathname === "/api/conversations" && req.method === "GET") {
      // The real agent-server reads the key from the header only; this fixture also takes the query parameter
      // the proxy accepts, so the proxy's own check is what these tests see.
      const key = req.headers["x-session-api-key"] ?? url.searchParams.get("session_api_key");
      if (key !== this.sessionKey) return json(res, 401, { detail: "Unauthorized" });
      return json(res, 200, [{ id: url.searchParams.get("ids"), execution_status: "idle" }]);
    }
    if (
      req.method !== "OPTIONS" &&
      !url.pathname.startsWith("/api/") &&
      !["/health", "/alive", "/ready", "/server_info"].includes(url.pathname)
    ) {
      // A worker port: an app the agent started, answering every path.
      res.writeHead(200, { "Content-Type": "text/html" });
      res.end(`<h1>${this.name}</h1>`);
      return true;
    }
    return false;
  }
}
