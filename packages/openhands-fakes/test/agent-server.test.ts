/**
 * The agent-server fake's contract, per version: open health, key-gated API and events WebSocket, CORS only for
 * the configured origins, and the calls back to its app (webhooks with its key, MCP that must answer JSON-RPC).
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import WebSocket from "ws";
import { startAgentServer, type RunningAgentServer } from "../src/agent-server/server";
import { AGENT_SERVER_VERSIONS, type AgentServerVersion } from "../src/versions";
import { eventually } from "./support/world";

const KEY = "k".repeat(43);
const ORIGIN = "https://openhands.example.test";

interface Recorder {
  readonly server: Server;
  readonly port: number;
  readonly seen: Array<{ method: string; url: string; headers: IncomingMessage["headers"]; body: string }>;
  answer: (url: string) => { status: number; type: string; body: string };
}

/** Stands for the app behind the relay: records what the sandbox sends. */
async function startRecorder(): Promise<Recorder> {
  const recorder = {
    seen: [] as Recorder["seen"],
    answer: (url: string) =>
      url.startsWith("/mcp/mcp")
        ? {
            status: 200,
            type: "text/event-stream",
            body: `event: message\r\ndata: ${JSON.stringify({ jsonrpc: "2.0", id: 0, result: {} })}\r\n\r\n`,
          }
        : { status: 200, type: "application/json", body: '{"success":true}' },
  } as Recorder & { server?: Server; port?: number };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      recorder.seen.push({
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      });
      const reply = recorder.answer(req.url ?? "");
      res.writeHead(reply.status, { "content-type": reply.type });
      res.end(reply.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const address = server.address();
  return Object.assign(recorder, { server, port: typeof address === "object" && address ? address.port : 0 });
}

const api = (base: string, path: string, init: RequestInit = {}): Promise<Response> => fetch(`${base}${path}`, init);
const withKey = (init: RequestInit = {}): RequestInit => ({
  ...init,
  headers: { "x-session-api-key": KEY, "content-type": "application/json", ...(init.headers as Record<string, string>) },
});

describe.each(AGENT_SERVER_VERSIONS.map((version) => [version]))("agent-server %s fake", (version: AgentServerVersion) => {
  let app: Recorder;
  let sandbox: RunningAgentServer;
  let base: string;

  beforeAll(async () => {
    app = await startRecorder();
    sandbox = await startAgentServer({
      version,
      name: "oh-sbx-aaaaaaaaaaaaaaaa-abc",
      hosts: { "host.docker.internal": "127.0.0.1" },
      env: {
        OH_SESSION_API_KEYS_0: KEY,
        OH_ALLOW_CORS_ORIGINS_0: ORIGIN,
        OH_WEBHOOKS_0_BASE_URL: `http://host.docker.internal:${app.port}/api/v1/webhooks`,
      },
    });
    base = sandbox.url;
  });
  afterAll(async () => {
    await sandbox?.close();
    await new Promise((resolve) => app?.server.close(resolve));
  });

  const startConversation = async (mcpUrl = `http://host.docker.internal:${app.port}/mcp/mcp`): Promise<Response> =>
    api(
      base,
      "/api/conversations",
      withKey({
        method: "POST",
        body: JSON.stringify({
          agent: {
            llm: { model: "litellm_proxy/claude", api_key: "sk-x" },
            mcp_config: { mcpServers: { default: { url: mcpUrl, headers: { "X-OpenHands-ServerConversation-ID": "c1" } } } },
          },
        }),
      }),
    );

  test(`GIVEN /health THEN ${version === "1.19.1" ? '"OK"' : '{"status":"ok"}'} (server_details_router), and /alive is open`, async () => {
    const health = await api(base, "/health");
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual(version === "1.19.1" ? "OK" : { status: "ok" });
    expect(await (await api(base, "/alive")).json()).toEqual({ status: "ok" });
  });

  test("GIVEN no key, a wrong key or the key only in the query THEN the REST API answers 401", async () => {
    expect((await api(base, "/api/conversations", { method: "POST" })).status).toBe(401);
    expect((await api(base, "/api/conversations", { method: "POST", headers: { "x-session-api-key": "wrong" } })).status).toBe(401);
    expect((await api(base, `/api/conversations/search?session_api_key=${KEY}`)).status).toBe(401);
  });

  test("GIVEN the key WHEN a conversation is created THEN 201, the app's MCP is initialised and webhooks carry the key", async () => {
    const created = await startConversation();
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const mcp = app.seen.filter((request) => request.url === "/mcp/mcp");
    expect(mcp.map((request) => JSON.parse(request.body).method)).toEqual(expect.arrayContaining(["initialize", "tools/list"]));
    expect(mcp[0]!.headers["x-openhands-serverconversation-id"]).toBe("c1");
    expect(mcp[0]!.headers.accept).toBe("application/json, text/event-stream");
    await eventually(() => app.seen.some((request) => request.url === "/api/v1/webhooks/conversations"));
    await eventually(() => app.seen.some((request) => request.url === `/api/v1/webhooks/events/${id.replace(/-/g, "")}`));
    for (const hook of app.seen.filter((request) => request.url.startsWith("/api/v1/webhooks/")))
      expect(hook.headers["x-session-api-key"]).toBe(KEY);
  });

  test("GIVEN the app's MCP answers without JSON-RPC THEN the conversation is refused (agent init fails)", async () => {
    const jsonRpcAnswer = app.answer;
    app.answer = (url) =>
      url.startsWith("/mcp/mcp")
        ? { status: 200, type: "text/html", body: "<!doctype html><title>OpenHands</title>" }
        : { status: 200, type: "application/json", body: "{}" };
    try {
      const refused = await startConversation();
      expect(refused.status).toBe(500);
      expect(sandbox.callbacks.some((callback) => callback.kind === "mcp" && callback.status === "error")).toBe(true);
    } finally {
      app.answer = jsonRpcAnswer;
    }
  });

  test("GIVEN the key in the query WHEN the events WebSocket opens THEN the state comes first, then a message's echo", async () => {
    const { id } = (await (await startConversation()).json()) as { id: string };
    const socket = new WebSocket(`${base.replace("http", "ws")}/sockets/events/${id}?session_api_key=${KEY}`);
    const messages: Array<Record<string, unknown>> = [];
    await new Promise<void>((resolve, reject) => {
      socket.on("message", (data) => {
        messages.push(JSON.parse(String(data)));
        if (messages.length === 1)
          void api(
            base,
            `/api/conversations/${id}/events`,
            withKey({ method: "POST", body: JSON.stringify({ role: "user", content: [{ type: "text", text: "hello" }], run: true }) }),
          );
        if (messages.some((message) => message.source === "agent")) resolve();
      });
      socket.once("error", reject);
    });
    socket.close();
    expect(messages[0]).toMatchObject({ kind: "ConversationStateUpdateEvent", key: "full_state" });
    expect(messages).toContainEqual(
      expect.objectContaining({ kind: "MessageEvent", source: "agent", text: "echo from oh-sbx-aaaaaaaaaaaaaaaa-abc: hello" }),
    );
  });

  test("GIVEN a wrong key in the query WHEN the events WebSocket is opened THEN the upgrade is refused with 403", async () => {
    const { id } = (await (await startConversation()).json()) as { id: string };
    const socket = new WebSocket(`${base.replace("http", "ws")}/sockets/events/${id}?session_api_key=wrong`);
    const status = await new Promise<number>((resolve) => socket.once("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(403);
  });

  test("GIVEN no key in the URL THEN first-message auth: a wrong key closes with 4001, the right one subscribes", async () => {
    const { id } = (await (await startConversation()).json()) as { id: string };
    const url = `${base.replace("http", "ws")}/sockets/events/${id}`;
    const wrong = new WebSocket(url);
    wrong.on("open", () => wrong.send(JSON.stringify({ type: "auth", session_api_key: "wrong" })));
    expect(await new Promise<number>((resolve) => wrong.once("close", (code) => resolve(code)))).toBe(4001);
    const right = new WebSocket(url);
    right.on("open", () => right.send(JSON.stringify({ type: "auth", session_api_key: KEY })));
    const first = await new Promise<string>((resolve) => right.once("message", (data) => resolve(String(data))));
    right.close();
    expect(JSON.parse(first)).toMatchObject({ kind: "ConversationStateUpdateEvent" });
  });

  test("GIVEN a preflight WHEN it comes from the app origin THEN CORS allows it, and not for another origin", async () => {
    const allowed = await api(base, "/api/conversations", {
      method: "OPTIONS",
      headers: { origin: ORIGIN, "access-control-request-method": "GET" },
    });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    const foreign = await api(base, "/api/conversations", {
      method: "OPTIONS",
      headers: { origin: "https://evil.example", "access-control-request-method": "GET" },
    });
    expect(foreign.status).toBe(400);
    expect(foreign.headers.get("access-control-allow-origin")).toBeNull();
  });

  test("GIVEN VS Code THEN the session key as tkn opens it and any other is refused; a worker port answers its page", async () => {
    const vscode = `http://127.0.0.1:${sandbox.ports.VSCODE}`;
    expect((await fetch(`${vscode}/?tkn=${KEY}&folder=/workspace/project`)).status).toBe(200);
    expect((await fetch(`${vscode}/?tkn=wrong`)).status).toBe(403);
    const worker = await fetch(`http://127.0.0.1:${sandbox.ports.WORKER_1}/`);
    expect(await worker.text()).toContain('<h1 id="worker">WORKER_1 of oh-sbx-aaaaaaaaaaaaaaaa-abc</h1>');
  });

  test("GIVEN ids as a repeated parameter THEN one answer per id, null for unknown", async () => {
    const { id } = (await (await startConversation()).json()) as { id: string };
    const reply = await api(base, `/api/conversations?ids=${id}&ids=${"0".repeat(32)}`, withKey());
    const body = (await reply.json()) as Array<{ id: string } | null>;
    expect(body).toHaveLength(2);
    expect(body[0]?.id).toBe(id);
    expect(body[1]).toBeNull();
  });
});

test("GIVEN an unknown version THEN the entry point's parser names the variable and the versions it knows", async () => {
  const { parseAgentServerVersion } = await import("../src/versions");
  expect(parseAgentServerVersion("1.34.0-python")).toBe("1.34.0");
  expect(() => parseAgentServerVersion("1.26.0")).toThrow(/AGENT_SERVER_VERSION: "1.26.0" .*1\.19\.1 or 1\.34\.0/);
});
