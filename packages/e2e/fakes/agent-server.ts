/**
 * Contract fake of the OpenHands agent-server (software-agent-sdk v1.19.1, the version OpenHands 1.7.0 pins),
 * run as a local process standing in for one sandbox container. Shaped after
 * /work/shared/reference/openhands-1.7-facts.md §1.1, §2.1, §4 and openhands-1.7-design-review.md §3-§5:
 *
 * - the agent-server port (container port 8000): `GET /alive`, `/health`, `/ready`, `/server_info` open;
 *   every `/api/*` route needs the session key in `X-Session-API-Key` (SDK `api.py`);
 *   `POST /api/conversations`, `GET /api/conversations?ids=`, `GET /api/conversations/<id>`,
 *   `POST /api/conversations/<id>/events`; the events WebSocket `/sockets/events/<id>` takes the key as the
 *   `session_api_key` query parameter (what the 1.7.0 frontend sends) or the header; CORS for the origins in
 *   `OH_ALLOW_CORS_ORIGINS_n`;
 * - the VS Code port (8001): a page that needs `?tkn=<session key>`;
 * - the worker ports (8011, 8012): whatever the agent started there; here a small page naming the sandbox.
 * - on each new conversation it calls the app back at `OH_WEBHOOKS_0_BASE_URL/conversations` with the key,
 *   the way the SDK's webhook subscriber does (best effort, as the SDK retries on its own).
 *
 * It is configured the way the container would be: the create body's `Env`, plus what the fake Docker engine
 * decided (bind address and published host ports, `ExtraHosts`) in `E2E_SANDBOX` (JSON, see SandboxProcessSpec).
 */
import { randomUUID } from "node:crypto";
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import { WebSocketServer, type WebSocket } from "ws";

/** What the fake Docker engine hands a sandbox process: where its published ports are bound. */
export interface SandboxProcessSpec {
  readonly containerName: string;
  /** The container's own address on its network: the server listens there on the container ports, as inside Docker. */
  readonly containerIp?: string;
  /** The address the published ports are bound to (the user's gateway). */
  readonly hostIp: string;
  /** Container port ("8000/tcp") to the host port dockerd chose. */
  readonly ports: Readonly<Record<string, number>>;
  /** `ExtraHosts` of the create body, resolved: name to address. */
  readonly extraHosts: Readonly<Record<string, string>>;
}

interface Conversation {
  readonly id: string;
  readonly createdAt: string;
  readonly events: Array<{ id: string; kind: string; source: string; text: string; timestamp: string }>;
  readonly sockets: Set<WebSocket>;
}

const spec = JSON.parse(process.env.E2E_SANDBOX ?? "null") as SandboxProcessSpec | null;
if (!spec) throw new Error("E2E_SANDBOX is not set: the fake Docker engine passes the sandbox's ports as JSON");
const sessionKey = process.env.OH_SESSION_API_KEYS_0 ?? "";
const webhookBase = process.env.OH_WEBHOOKS_0_BASE_URL ?? "";
const corsOrigins = Object.entries(process.env)
  .filter(([name]) => /^OH_ALLOW_CORS_ORIGINS_\d+$/.test(name))
  .map(([, value]) => value ?? "");
const conversations = new Map<string, Conversation>();
const webhookResults: string[] = [];

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, {
    "content-type": typeof body === "string" ? "text/html; charset=utf-8" : "application/json",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function cors(req: IncomingMessage): Record<string, string> {
  const origin = req.headers.origin;
  if (!origin || !corsOrigins.includes(origin)) return {};
  return {
    "access-control-allow-origin": origin,
    "access-control-allow-headers": "content-type, x-session-api-key",
    "access-control-allow-methods": "GET, POST, PATCH, DELETE, OPTIONS",
    vary: "Origin",
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function conversationInfo(conversation: Conversation): Record<string, unknown> {
  return {
    id: conversation.id,
    execution_status: "idle",
    created_at: conversation.createdAt,
    events: conversation.events.length,
    sandbox: spec!.containerName,
  };
}

/** The SDK's webhook subscriber: POST to the app (through the relay) with the sandbox's own key. */
function callWebhook(path: string, body: unknown): void {
  if (!webhookBase) return;
  const url = new URL(`${webhookBase}${path}`);
  const address = spec!.extraHosts[url.hostname] ?? url.hostname;
  const payload = JSON.stringify(body);
  const req = httpRequest(
    {
      host: address,
      port: url.port || 80,
      method: "POST",
      path: url.pathname,
      headers: { host: url.host, "content-type": "application/json", "content-length": Buffer.byteLength(payload), "x-session-api-key": sessionKey },
      timeout: 2000,
    },
    (res) => {
      webhookResults.push(`${path} ${res.statusCode}`);
      res.resume();
    },
  );
  req.on("error", (error) => webhookResults.push(`${path} error ${error.message}`));
  req.on("timeout", () => req.destroy(new Error("timeout")));
  req.end(payload);
}

function broadcast(conversation: Conversation, event: Conversation["events"][number]): void {
  for (const socket of conversation.sockets) socket.send(JSON.stringify(event));
}

function addEvent(conversation: Conversation, source: string, text: string): Conversation["events"][number] {
  const event = { id: randomUUID(), kind: "MessageEvent", source, text, timestamp: new Date().toISOString() };
  conversation.events.push(event);
  broadcast(conversation, event);
  return event;
}

async function agentServer(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://sandbox");
  const headers = cors(req);
  if (req.method === "OPTIONS") return send(res, 204, "", headers);
  if (url.pathname === "/alive") return send(res, 200, { status: "ok" }, headers);
  if (url.pathname === "/health" || url.pathname === "/ready") return send(res, 200, "OK", headers);
  if (url.pathname === "/server_info") {
    return send(res, 200, { sandbox: spec!.containerName, uptime: process.uptime(), webhooks: webhookResults }, headers);
  }
  if (!url.pathname.startsWith("/api/")) return send(res, 404, { detail: "Not Found" }, headers);
  if (req.headers["x-session-api-key"] !== sessionKey) return send(res, 401, { detail: "Unauthorized" }, headers);

  const parts = url.pathname.split("/").filter(Boolean); // api, conversations, <id>, events
  if (parts[1] !== "conversations") return send(res, 404, { detail: "Not Found" }, headers);
  if (parts.length === 2 && req.method === "POST") {
    const body = JSON.parse((await readBody(req)) || "{}") as { conversation_id?: string };
    const id = /^[0-9a-f]{32}$/.test(body.conversation_id ?? "") ? body.conversation_id! : randomUUID().replace(/-/g, "");
    const conversation: Conversation = { id, createdAt: new Date().toISOString(), events: [], sockets: new Set() };
    conversations.set(conversation.id, conversation);
    addEvent(conversation, "environment", `conversation started in ${spec!.containerName}`);
    callWebhook("/conversations", conversationInfo(conversation));
    return send(res, 201, conversationInfo(conversation), headers);
  }
  if (parts.length === 2 && req.method === "GET") {
    const ids = (url.searchParams.get("ids") ?? "").split(",").filter(Boolean);
    return send(res, 200, ids.map((id) => (conversations.has(id) ? conversationInfo(conversations.get(id)!) : null)), headers);
  }
  const conversation = conversations.get(parts[2] ?? "");
  if (!conversation) return send(res, 404, { detail: "Conversation not found" }, headers);
  if (parts.length === 3 && req.method === "GET") return send(res, 200, conversationInfo(conversation), headers);
  if (parts.length === 4 && parts[3] === "events" && req.method === "POST") {
    const body = JSON.parse((await readBody(req)) || "{}") as { content?: Array<{ text?: string }> };
    const text = body.content?.map((part) => part.text ?? "").join("") ?? "";
    addEvent(conversation, "user", text);
    addEvent(conversation, "agent", `echo from ${spec!.containerName}: ${text}`);
    return send(res, 200, { success: true }, headers);
  }
  return send(res, 404, { detail: "Not Found" }, headers);
}

function vscode(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? "/", "http://sandbox");
  if (url.searchParams.get("tkn") !== sessionKey) return send(res, 403, "Forbidden");
  send(res, 200, `<!doctype html><title>VS Code</title><h1>VS Code in ${spec!.containerName}</h1>`);
}

function worker(name: string) {
  return (_req: IncomingMessage, res: ServerResponse): void =>
    send(res, 200, `<!doctype html><title>${name}</title><h1 id="worker">${name} of ${spec!.containerName}</h1>`, {
      "access-control-allow-origin": "*",
    });
}

type Server = ReturnType<typeof createServer>;

function bind(server: Server, port: number, address: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, address, () => resolve(server));
  });
}

/**
 * One port of the sandbox: on the container's address and container port (what the host reaches directly),
 * and on the published host port of the gateway (what docker-proxy forwards). Both serve the same handler.
 */
async function listen(containerPort: string, handler: (req: IncomingMessage, res: ServerResponse) => unknown): Promise<Server[]> {
  const hostPort = spec!.ports[containerPort];
  if (!hostPort) throw new Error(`no published host port for ${containerPort}`);
  const serve = (): Server =>
    createServer((req, res) => {
      Promise.resolve(handler(req, res)).catch((error: Error) => send(res, 500, { detail: error.message }));
    });
  const servers = [await bind(serve(), hostPort, spec!.hostIp)];
  if (spec!.containerIp) servers.push(await bind(serve(), Number.parseInt(containerPort, 10), spec!.containerIp));
  return servers;
}

async function main(): Promise<void> {
  const apis = await listen("8000/tcp", agentServer);
  const sockets = new WebSocketServer({ noServer: true });
  const upgrade = (req: IncomingMessage, socket: import("node:stream").Duplex, head: Buffer): void => {
    const url = new URL(req.url ?? "/", "http://sandbox");
    const match = /^\/sockets\/events\/([0-9a-f]+)$/.exec(url.pathname);
    const key = url.searchParams.get("session_api_key") ?? req.headers["x-session-api-key"];
    const conversation = match ? conversations.get(match[1]!) : undefined;
    if (key !== sessionKey || !conversation) {
      socket.end("HTTP/1.1 403 Forbidden\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
      return;
    }
    sockets.handleUpgrade(req, socket, head, (ws) => {
      conversation.sockets.add(ws);
      ws.on("close", () => conversation.sockets.delete(ws));
      for (const event of conversation.events) ws.send(JSON.stringify(event));
      ws.on("message", (data) => {
        addEvent(conversation, "user", String(data));
        addEvent(conversation, "agent", `echo from ${spec!.containerName}: ${String(data)}`);
      });
    });
  };
  for (const api of apis) api.on("upgrade", upgrade);
  if (spec!.ports["8001/tcp"]) await listen("8001/tcp", vscode);
  if (spec!.ports["8011/tcp"]) await listen("8011/tcp", worker("WORKER_1"));
  if (spec!.ports["8012/tcp"]) await listen("8012/tcp", worker("WORKER_2"));
  process.stdout.write("agent-server ready\n");
}

process.on("SIGTERM", () => process.exit(0));
main().catch((error: Error) => {
  process.stderr.write(`agent-server failed: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
