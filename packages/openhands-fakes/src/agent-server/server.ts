/**
 * Contract fake of the OpenHands agent-server (software-agent-sdk `openhands-agent-server`, v1.19.1 for app 1.7.0
 * and v1.34.0 for app 1.11.0), one sandbox container: the REST API behind X-Session-API-Key, the events
 * WebSocket, CORS for the configured origins, and the calls back to its app (webhooks, MCP, secret lookups)
 * through `OH_WEBHOOKS_0_BASE_URL` / the MCP URL it is given. The agent itself is not run: a user message gets
 * a deterministic echo. See README.md.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import {
  BodyTooLarge,
  call,
  closeServer,
  isObject,
  listen,
  parseJson,
  readBody,
  sendJson,
  sendText,
  type ExtraRoute,
  type SeenRequest,
} from "../http";
import type { AgentServerVersion } from "../versions";

export type AgentPortName = "AGENT_SERVER" | "VSCODE" | "WORKER_1" | "WORKER_2";

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export interface AgentServerOptions {
  readonly version: AgentServerVersion;
  /** The container's environment (what the app's DockerSandboxService sets). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** @default "127.0.0.1" */
  readonly host?: string;
  /**
   * Port per listener. @default every one on 0 (any free port). In a container: 8000 (`--port`), OH_VSCODE_PORT
   * (8001) and the WORKER_1 / WORKER_2 container ports the app passes in the environment.
   */
  readonly ports?: Partial<Record<AgentPortName, number>>;
  /** Several addresses per listener (the e2e runner binds a container IP and a published host port). */
  readonly listen?: Partial<Record<AgentPortName, readonly ListenAddress[]>>;
  /** Name -> address, what extra_hosts writes into /etc/hosts (host.docker.internal). */
  readonly hosts?: Readonly<Record<string, string>>;
  /** What this sandbox calls itself in its echo and worker pages. @default the container hostname */
  readonly name?: string;
  /** Test-only routes answered before the agent-server's own. */
  readonly extraRoutes?: ExtraRoute;
  /** Test-only WebSocket upgrades handled before the agent-server's own; true means it took the socket. */
  readonly extraUpgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => boolean;
}

export interface ConversationEvent {
  readonly id: string;
  readonly kind: string;
  readonly source: string;
  readonly timestamp: string;
  readonly [key: string]: unknown;
}

interface Conversation {
  readonly id: string;
  readonly createdAt: string;
  updatedAt: string;
  executionStatus: string;
  readonly request: Record<string, unknown>;
  readonly events: ConversationEvent[];
  readonly sockets: Set<WebSocket>;
}

/** What happened when the agent-server called its app (for tests and the e2e logs). */
export interface Callback {
  readonly kind: "webhook" | "mcp" | "secret";
  readonly url: string;
  readonly status: number | "error";
  readonly detail?: string;
}

export interface RunningAgentServer {
  readonly version: AgentServerVersion;
  /** The AGENT_SERVER listener's base URL (first address). */
  readonly url: string;
  readonly ports: Readonly<Record<AgentPortName, number>>;
  readonly requests: SeenRequest[];
  readonly callbacks: Callback[];
  /** Creates a conversation as `POST /api/conversations` would (for tests that need one). */
  createConversation(request?: Record<string, unknown>): Promise<{ status: number; body: unknown }>;
  close(): Promise<void>;
}

function indexed(env: Readonly<Record<string, string | undefined>>, prefix: string, suffix = ""): string[] {
  const values: string[] = [];
  for (let index = 0; env[`${prefix}_${index}${suffix}`] !== undefined; index += 1) values.push(env[`${prefix}_${index}${suffix}`]!);
  return values;
}

/** `id` as the SDK serialises a UUID: with dashes. */
function dashed(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function uuidHex(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const bare = value.replace(/-/g, "").toLowerCase();
  return /^[0-9a-f]{32}$/.test(bare) ? bare : undefined;
}

/** MCP streamable HTTP answers are JSON or one server-sent event; either way a JSON-RPC object must come back. */
function jsonRpcFrom(contentType: string, body: string): Record<string, unknown> | undefined {
  let text = body;
  if (contentType.includes("text/event-stream")) {
    const data = body.split(/\r?\n/).filter((line) => line.startsWith("data:"));
    text = data.map((line) => line.slice(5).trim()).join("");
  }
  const parsed = parseJson(text);
  return isObject(parsed) && parsed.jsonrpc === "2.0" && ("result" in parsed || "error" in parsed) ? parsed : undefined;
}

export async function startAgentServer(options: AgentServerOptions): Promise<RunningAgentServer> {
  const env = options.env ?? {};
  const sessionKeys = indexed(env, "OH_SESSION_API_KEYS");
  const webhookBases = indexed(env, "OH_WEBHOOKS", "_BASE_URL");
  const corsOrigins = indexed(env, "OH_ALLOW_CORS_ORIGINS");
  const name = options.name ?? env.HOSTNAME ?? "agent-server";
  const hosts = options.hosts ?? {};
  const requests: SeenRequest[] = [];
  const callbacks: Callback[] = [];
  const conversations = new Map<string, Conversation>();
  const sockets = new WebSocketServer({ noServer: true });

  /** api.py: the configured origins, and localhost ones, which the SDK's LocalhostCORSMiddleware always allows. */
  function originAllowed(origin: string): boolean {
    if (corsOrigins.includes(origin)) return true;
    try {
      const hostname = new URL(origin).hostname;
      return hostname === "localhost" || hostname === "127.0.0.1";
    } catch {
      return false;
    }
  }

  function corsHeaders(req: IncomingMessage): Record<string, string> {
    const origin = req.headers.origin;
    if (typeof origin !== "string" || !originAllowed(origin)) return {};
    return { "access-control-allow-origin": origin, "access-control-allow-credentials": "true", vary: "Origin" };
  }

  /** dependencies.py L11-24: the key in the X-Session-API-Key header only (no query parameter on REST). */
  function authorised(req: IncomingMessage): boolean {
    if (sessionKeys.length === 0) return true;
    const key = req.headers["x-session-api-key"];
    return typeof key === "string" && sessionKeys.includes(key);
  }

  function emit(conversation: Conversation, event: ConversationEvent): void {
    conversation.events.push(event);
    for (const socket of conversation.sockets) socket.send(JSON.stringify(event));
    void postWebhook(`/events/${conversation.id}`, [event]);
  }

  function info(conversation: Conversation): Record<string, unknown> {
    const agent = isObject(conversation.request.agent) ? conversation.request.agent : {};
    return {
      id: dashed(conversation.id),
      agent: {
        ...agent,
        llm: { ...(isObject(agent.llm) ? agent.llm : {}), api_key: isObject(agent.llm) && agent.llm.api_key ? "**********" : null },
      },
      workspace: conversation.request.workspace ?? { kind: "LocalWorkspace", working_dir: "/workspace/project" },
      execution_status: conversation.executionStatus,
      stats: { usage_to_metrics: {} },
      created_at: conversation.createdAt,
      updated_at: conversation.updatedAt,
    };
  }

  /** conversation_service.py L995-1100: POST to every webhook base with the first session key; failures are logged, not fatal. */
  async function postWebhook(path: string, payload: unknown): Promise<void> {
    for (const base of webhookBases) {
      const url = `${base.replace(/\/$/, "")}${path}`;
      try {
        const reply = await call({
          method: "POST",
          url,
          hosts,
          headers: { "content-type": "application/json", ...(sessionKeys[0] ? { "x-session-api-key": sessionKeys[0] } : {}) },
          body: JSON.stringify(payload),
          timeoutMs: 5000,
        });
        callbacks.push({ kind: "webhook", url, status: reply.status });
      } catch (error) {
        callbacks.push({ kind: "webhook", url, status: "error", detail: (error as Error).message });
      }
    }
  }

  /**
   * Agent init creates the MCP tools of every configured server (SDK mcp/utils.py L59-89, agent/base.py
   * L466-474): initialize, then tools/list. Without a JSON-RPC answer the conversation cannot start.
   */
  async function connectMcp(request: Record<string, unknown>): Promise<void> {
    const agent = isObject(request.agent) ? request.agent : {};
    const mcp = isObject(agent.mcp_config) && isObject(agent.mcp_config.mcpServers) ? agent.mcp_config.mcpServers : {};
    for (const [serverName, server] of Object.entries(mcp)) {
      if (!isObject(server) || typeof server.url !== "string") continue;
      const headers: Record<string, string> = {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        ...(isObject(server.headers) ? Object.fromEntries(Object.entries(server.headers).map(([key, value]) => [key, String(value)])) : {}),
      };
      for (const [index, method] of ["initialize", "tools/list"].entries()) {
        const body = {
          jsonrpc: "2.0",
          id: index,
          method,
          params:
            method === "initialize"
              ? { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "openhands-sdk", version: options.version } }
              : {},
        };
        let reply: Awaited<ReturnType<typeof call>>;
        try {
          reply = await call({ method: "POST", url: server.url, hosts, headers, body: JSON.stringify(body), timeoutMs: 10_000 });
        } catch (error) {
          callbacks.push({ kind: "mcp", url: server.url, status: "error", detail: (error as Error).message });
          throw new Error(`MCP server '${serverName}' at ${server.url} failed: ${(error as Error).message}`);
        }
        callbacks.push({ kind: "mcp", url: server.url, status: reply.status });
        const rpc = jsonRpcFrom(String(reply.headers["content-type"] ?? ""), reply.body);
        if (reply.status !== 200 || !rpc || "error" in rpc) {
          throw new Error(`MCP server '${serverName}' at ${server.url} gave no JSON-RPC answer to ${method} (HTTP ${reply.status})`);
        }
      }
    }
  }

  /** LookupSecret values are fetched from their URL with their headers (SDK secret/secrets.py). */
  async function lookupSecrets(request: Record<string, unknown>): Promise<void> {
    const secrets = isObject(request.secrets) ? request.secrets : {};
    for (const secret of Object.values(secrets)) {
      if (!isObject(secret) || secret.kind !== "LookupSecret" || typeof secret.url !== "string") continue;
      const headers = isObject(secret.headers)
        ? Object.fromEntries(Object.entries(secret.headers).map(([key, value]) => [key, String(value)]))
        : {};
      try {
        const reply = await call({ method: "GET", url: secret.url, hosts, headers, timeoutMs: 5000 });
        callbacks.push({ kind: "secret", url: secret.url, status: reply.status });
      } catch (error) {
        callbacks.push({ kind: "secret", url: secret.url, status: "error", detail: (error as Error).message });
      }
    }
  }

  async function createConversation(request: Record<string, unknown>): Promise<{ status: number; body: unknown }> {
    const id = uuidHex(request.conversation_id) ?? randomUUID().replace(/-/g, "");
    const existing = conversations.get(id);
    if (existing) return { status: 200, body: info(existing) };
    try {
      await connectMcp(request);
    } catch (error) {
      // An unhandled exception in the router: FastAPI's plain 500.
      callbacks.push({ kind: "mcp", url: "", status: "error", detail: (error as Error).message });
      return { status: 500, body: "Internal Server Error" };
    }
    const now = new Date().toISOString();
    const conversation: Conversation = {
      id,
      createdAt: now,
      updatedAt: now,
      executionStatus: "idle",
      request,
      events: [],
      sockets: new Set(),
    };
    conversations.set(id, conversation);
    void lookupSecrets(request);
    void postWebhook("/conversations", info(conversation));
    emit(conversation, {
      id: randomUUID(),
      kind: "SystemPromptEvent",
      source: "agent",
      timestamp: now,
      text: `conversation started in ${name}`,
    });
    const initial = isObject(request.initial_message) ? request.initial_message : undefined;
    if (initial) userMessage(conversation, initial);
    return { status: 201, body: info(conversation) };
  }

  /** A user message, then the agent's deterministic reply (the real agent would call the LLM here). */
  function userMessage(conversation: Conversation, message: Record<string, unknown>): void {
    const content = Array.isArray(message.content) ? message.content : [];
    const text = content.map((part) => (isObject(part) && typeof part.text === "string" ? part.text : "")).join("");
    const now = new Date().toISOString();
    emit(conversation, {
      id: randomUUID(),
      kind: "MessageEvent",
      source: "user",
      timestamp: now,
      text,
      llm_message: { role: "user", content: [{ type: "text", text }] },
    });
    emit(conversation, {
      id: randomUUID(),
      kind: "MessageEvent",
      source: "agent",
      timestamp: now,
      text: `echo from ${name}: ${text}`,
      llm_message: { role: "assistant", content: [{ type: "text", text: `echo from ${name}: ${text}` }] },
    });
    conversation.updatedAt = now;
  }

  async function api(req: IncomingMessage, res: ServerResponse, body: string, url: URL, cors: Record<string, string>): Promise<void> {
    const method = req.method ?? "GET";
    // Stops anyone without the sandbox's key (another user's page, say) from using the shell and files API.
    if (!authorised(req)) return sendJson(res, 401, { detail: "Unauthorized" }, cors);
    const parts = url.pathname.split("/").filter(Boolean);
    if (parts[1] !== "conversations") return sendJson(res, 404, { detail: "Not Found" }, cors);
    if (parts.length === 2 && method === "POST") {
      const request = parseJson(body);
      if (!isObject(request))
        return sendJson(res, 422, { detail: [{ type: "dict_type", loc: ["body"], msg: "Input should be a valid dictionary" }] }, cors);
      const created = await createConversation(request);
      return typeof created.body === "string"
        ? sendText(res, created.status, created.body, "text/plain; charset=utf-8", cors)
        : sendJson(res, created.status, created.body, cors);
    }
    if (parts.length === 2 && method === "GET") {
      const ids = url.searchParams.getAll("ids");
      if (ids.length === 0)
        return sendJson(res, 422, { detail: [{ type: "missing", loc: ["query", "ids"], msg: "Field required" }] }, cors);
      return sendJson(
        res,
        200,
        ids.map((id) => {
          const found = conversations.get(uuidHex(id) ?? "");
          return found ? info(found) : null;
        }),
        cors,
      );
    }
    if (parts.length === 3 && parts[2] === "search" && method === "GET") {
      return sendJson(res, 200, { items: [...conversations.values()].map(info), next_page_id: null }, cors);
    }
    const conversation = conversations.get(uuidHex(parts[2]) ?? "");
    if (!conversation) return sendJson(res, 404, { detail: "Not Found" }, cors);
    if (parts.length === 3 && method === "GET") return sendJson(res, 200, info(conversation), cors);
    if (parts.length === 3 && method === "DELETE") {
      conversations.delete(conversation.id);
      for (const socket of conversation.sockets) socket.close(1000);
      void postWebhook("/conversations", { ...info(conversation), execution_status: "deleting" });
      return sendJson(res, 200, { success: true }, cors);
    }
    if (parts.length === 4 && parts[3] === "events" && method === "POST") {
      const message = parseJson(body);
      if (!isObject(message) || !Array.isArray(message.content))
        return sendJson(res, 422, { detail: [{ type: "missing", loc: ["body", "content"], msg: "Field required" }] }, cors);
      userMessage(conversation, message);
      return sendJson(res, 200, { success: true }, cors);
    }
    if (parts.length === 4 && parts[3] === "events" && method === "GET")
      return sendJson(res, 200, { items: conversation.events, next_page_id: null }, cors);
    return sendJson(res, 404, { detail: "Not Found" }, cors);
  }

  async function agentRoute(req: IncomingMessage, res: ServerResponse, body: string): Promise<void> {
    const url = new URL(req.url ?? "/", "http://sandbox");
    const cors = corsHeaders(req);
    if (req.method === "OPTIONS" && typeof req.headers["access-control-request-method"] === "string") {
      // Starlette's CORSMiddleware answers preflights itself, without a key; an origin it does not allow gets 400.
      const origin = String(req.headers.origin ?? "");
      if (!originAllowed(origin)) return sendText(res, 400, "Disallowed CORS origin", "text/plain; charset=utf-8");
      return sendText(res, 200, "OK", "text/plain; charset=utf-8", {
        ...cors,
        "access-control-allow-methods": "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT",
        "access-control-allow-headers": String(req.headers["access-control-request-headers"] ?? "*"),
        "access-control-max-age": "600",
      });
    }
    // server_details_router.py: /alive and /health open; /health is "OK" in 1.19.1 (L73-76), {"status":"ok"} in 1.34.0 (L90-93).
    if (url.pathname === "/alive") return sendJson(res, 200, { status: "ok" }, cors);
    if (url.pathname === "/health") return sendJson(res, 200, options.version === "1.19.1" ? "OK" : { status: "ok" }, cors);
    if (url.pathname === "/ready") return sendJson(res, 200, { status: "ready" }, cors);
    if (url.pathname === "/server_info") return sendJson(res, 200, { uptime: process.uptime(), idle_time: 0, sandbox: name }, cors);
    if (url.pathname.startsWith("/api/")) return api(req, res, body, url, cors);
    return sendJson(res, 404, { detail: "Not Found" }, cors);
  }

  /** openvscode-server: the session key as `tkn` opens the editor. */
  function vscodeRoute(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://sandbox");
    if (!sessionKeys.includes(url.searchParams.get("tkn") ?? "")) return sendText(res, 403, "Forbidden", "text/plain; charset=utf-8");
    sendText(res, 200, `<!doctype html><title>VS Code</title><h1>VS Code in ${name}</h1>`, "text/html; charset=utf-8");
  }

  /** Nothing listens on a worker port until the agent starts an app there; the fake stands for such an app. */
  function workerRoute(worker: string) {
    return (_req: IncomingMessage, res: ServerResponse): void =>
      sendText(res, 200, `<!doctype html><title>${worker}</title><h1 id="worker">${worker} of ${name}</h1>`, "text/html; charset=utf-8", {
        "access-control-allow-origin": "*",
      });
  }

  /** sockets.py L66-184: a key in the query or header is checked before accepting (403); without one, first-message auth. */
  function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (options.extraUpgrade?.(req, socket, head)) return;
    const url = new URL(req.url ?? "/", "http://sandbox");
    const match = /^\/sockets\/events\/([^/]+)$/.exec(url.pathname);
    if (!match) {
      socket.end("HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
      return;
    }
    const given =
      url.searchParams.get("session_api_key") ??
      (typeof req.headers["x-session-api-key"] === "string" ? req.headers["x-session-api-key"] : null);
    // Stops a page holding another sandbox's key (or none that matches) from reading this conversation's events.
    if (given !== null && sessionKeys.length > 0 && !sessionKeys.includes(given)) {
      socket.end("HTTP/1.1 403 Forbidden\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
      return;
    }
    sockets.handleUpgrade(req, socket, head, (ws) => {
      const attach = (): void => {
        const conversation = conversations.get(uuidHex(decodeURIComponent(match[1]!)) ?? "");
        if (!conversation) return ws.close(4004, "Conversation not found");
        conversation.sockets.add(ws);
        ws.on("close", () => conversation.sockets.delete(ws));
        // event_service.py L396-413: a new subscriber first gets the current state.
        ws.send(
          JSON.stringify({
            id: randomUUID(),
            kind: "ConversationStateUpdateEvent",
            source: "environment",
            timestamp: new Date().toISOString(),
            key: "full_state",
            value: { execution_status: conversation.executionStatus, id: dashed(conversation.id) },
          }),
        );
        if (url.searchParams.get("resend_mode") === "all" || url.searchParams.get("resend_all") === "true") {
          for (const event of conversation.events) ws.send(JSON.stringify(event));
        }
        ws.on("message", (data) => {
          const message = parseJson(String(data));
          if (isObject(message) && Array.isArray(message.content)) userMessage(conversation, message);
        });
      };
      if (given !== null || sessionKeys.length === 0) return attach();
      const timer = setTimeout(() => ws.close(4001, "Authentication failed"), 10_000);
      ws.once("message", (data) => {
        clearTimeout(timer);
        const auth = parseJson(String(data));
        if (
          !isObject(auth) ||
          auth.type !== "auth" ||
          typeof auth.session_api_key !== "string" ||
          !sessionKeys.includes(auth.session_api_key)
        ) {
          return ws.close(4001, "Authentication failed");
        }
        attach();
      });
    });
  }

  const servers: Server[] = [];
  const boundPorts: Partial<Record<AgentPortName, number>> = {};
  const handlers: Record<AgentPortName, (req: IncomingMessage, res: ServerResponse, body: string) => void | Promise<void>> = {
    AGENT_SERVER: agentRoute,
    VSCODE: vscodeRoute,
    WORKER_1: workerRoute("WORKER_1"),
    WORKER_2: workerRoute("WORKER_2"),
  };
  const host = options.host ?? "127.0.0.1";
  for (const portName of Object.keys(handlers) as AgentPortName[]) {
    const addresses = options.listen?.[portName] ?? (options.listen ? [] : [{ host, port: options.ports?.[portName] ?? 0 }]);
    for (const address of addresses) {
      const server = createServer((req, res) => {
        readBody(req)
          .then(async (body) => {
            if (portName === "AGENT_SERVER")
              requests.push({ method: req.method ?? "GET", url: req.url ?? "/", headers: req.headers, body });
            if (options.extraRoutes && portName === "AGENT_SERVER" && (await options.extraRoutes(req, res, body))) return;
            await handlers[portName](req, res, body);
          })
          .catch((error: unknown) => {
            if (res.headersSent) return void res.destroy();
            if (error instanceof BodyTooLarge) return sendJson(res, 413, { detail: error.message });
            sendText(res, 500, "Internal Server Error", "text/plain; charset=utf-8");
          });
      });
      if (portName === "AGENT_SERVER") server.on("upgrade", upgrade);
      const port = await listen(server, address.port, address.host);
      boundPorts[portName] ??= port;
      servers.push(server);
    }
  }
  const agentPort = boundPorts.AGENT_SERVER ?? 0;
  const agentHost = options.listen?.AGENT_SERVER?.[0]?.host ?? host;
  return {
    version: options.version,
    url: `http://${agentHost === "0.0.0.0" ? "127.0.0.1" : agentHost}:${agentPort}`,
    ports: {
      AGENT_SERVER: agentPort,
      VSCODE: boundPorts.VSCODE ?? 0,
      WORKER_1: boundPorts.WORKER_1 ?? 0,
      WORKER_2: boundPorts.WORKER_2 ?? 0,
    },
    requests,
    callbacks,
    createConversation: (request = {}) => createConversation(request),
    close: async () => {
      for (const client of sockets.clients) client.terminate();
      sockets.close();
      await Promise.all(servers.map((server) => closeServer(server)));
    },
  };
}
