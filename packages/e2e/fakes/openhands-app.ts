/**
 * Contract fake of the OpenHands 1.7.0 app server, run as a local process standing in for one user's
 * `oh-app-<slug>` container. Shaped after /work/shared/reference/openhands-1.7-facts.md (§1.3-§1.8, §2.1-§2.2, §4)
 * and openhands-1.7-design-review.md (§1-§5):
 *
 * - status: `GET /health` "OK", `/alive` {"status":"ok"}, `/ready`;
 * - settings: `GET /api/v1/settings` 404 until stored, `POST /api/v1/settings` takes `agent_settings_diff`
 *   and refuses the legacy `agent_settings` key with 422;
 * - sandboxes: `POST /api/v1/sandboxes`, `GET /api/v1/sandboxes?id=`, `GET /api/v1/sandboxes/search`; each
 *   sandbox is a container `<OH_SANDBOX_CONTAINER_NAME_PREFIX><id>` created through `DOCKER_HOST` with docker-py's
 *   calls and create body, its URLs built from `OH_SANDBOX_CONTAINER_URL_PATTERN` and the host ports read back
 *   from `NetworkSettings.Ports`, its health probed with the session key;
 * - conversations: `POST /api/v1/app-conversations` (start task with `agent_server_url`),
 *   `GET /api/v1/app-conversations?ids=` and `/search` (`conversation_url`, `session_api_key`);
 * - webhooks from its sandboxes: `POST /api/v1/webhooks/conversations`, `/api/v1/webhooks/events/<id>`;
 * - the SPA: `/` and every unknown path answer index.html with 200 (`server/static.py`); the page is a small
 *   stand-in for the React app that calls the same endpoints and opens the same agent-server URLs the real one does.
 *
 * No auth of its own, like single-user OpenHands: whoever reaches the port is the user. Configured by the
 * container's `Env`, plus `E2E_APP` (JSON {bindIp, port}) from the fake Docker engine and `E2E_BOOT_DELAY_MS`
 * (how long it takes to listen, standing for the real app's start-up and migrations).
 */
import { randomBytes, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import { join } from "node:path";
import { DockerPyClient, type ContainerInspect } from "./docker-py-client";

const env = process.env;
const placement = JSON.parse(env.E2E_APP ?? "null") as { bindIp: string; port: number } | null;
if (!placement) throw new Error("E2E_APP is not set: the fake Docker engine passes the app's address as JSON");
const dockerHost = env.DOCKER_HOST ?? "unix:///var/run/docker.sock";
if (!dockerHost.startsWith("unix://")) throw new Error(`DOCKER_HOST=${dockerHost}: only unix sockets are supported here`);
const docker = new DockerPyClient(dockerHost.slice("unix://".length));
const namePrefix = env.OH_SANDBOX_CONTAINER_NAME_PREFIX ?? "oh-agent-server-";
const urlPattern = env.OH_SANDBOX_CONTAINER_URL_PATTERN ?? "http://localhost:{port}";
const webhookPort = env.OH_SANDBOX_HOST_PORT ?? "3000";
const image = `${env.AGENT_SERVER_IMAGE_REPOSITORY ?? "ghcr.io/openhands/agent-server"}:${env.AGENT_SERVER_IMAGE_TAG ?? "1.19.1-python"}`;
const corsOrigins = Object.entries(env)
  .filter(([name]) => /^OH_PERMITTED_CORS_ORIGINS_\d+$/.test(name))
  .map(([, value]) => value ?? "");
const exposedPorts = [
  { name: "AGENT_SERVER", port: 8000 },
  { name: "VSCODE", port: 8001 },
  { name: "WORKER_1", port: 8011 },
  { name: "WORKER_2", port: 8012 },
];

let settings: Record<string, unknown> | undefined;
const conversations = new Map<string, { id: string; sandboxId: string; createdAt: string }>();
const startTasks = new Map<string, Record<string, unknown>>();
const webhooks: string[] = [];

interface SandboxInfo {
  id: string;
  created_by_user_id: null;
  sandbox_spec_id: string;
  status: "STARTING" | "RUNNING" | "PAUSED" | "ERROR" | "MISSING";
  session_api_key: string | null;
  exposed_urls: Array<{ name: string; url: string; port: number }> | null;
  created_at: string | undefined;
}

function send(res: ServerResponse, status: number, body: unknown, type = "application/json"): void {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      try {
        const text = Buffer.concat(chunks).toString("utf8");
        resolve(text ? (JSON.parse(text) as Record<string, unknown>) : {});
      } catch (error) {
        reject(error);
      }
    });
    req.on("error", reject);
  });
}

function agentCall(url: string, method: string, key: string, body?: unknown): Promise<{ status: number; body: string }> {
  const target = new URL(url);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        path: `${target.pathname}${target.search}`,
        method,
        headers: { "x-session-api-key": key, ...(payload ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } : {}) },
        timeout: 3000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on("error", reject);
    req.end(payload);
  });
}

/** DSS `_container_to_sandbox_info`: URLs from the pattern and the host ports dockerd published. */
async function toSandboxInfo(container: ContainerInspect): Promise<SandboxInfo> {
  const envList = container.Config.Env ?? [];
  const key = envList.find((entry) => entry.startsWith("OH_SESSION_API_KEYS_0="))?.slice("OH_SESSION_API_KEYS_0=".length) ?? null;
  const running = container.State.Status === "running";
  const urls = exposedPorts.flatMap(({ name, port }) => {
    const hostPort = container.NetworkSettings.Ports?.[`${port}/tcp`]?.[0]?.HostPort;
    if (!hostPort) return [];
    let url = urlPattern.replace("{port}", hostPort);
    if (name === "VSCODE") url += `/?tkn=${key}&folder=${container.Config.WorkingDir ?? "/workspace/project"}`;
    return [{ name, url, port: Number(hostPort) }];
  });
  // A stopped or paused container shows as PAUSED (facts §2.1).
  let status: SandboxInfo["status"] = running ? "STARTING" : "PAUSED";
  const agentUrl = urls.find((entry) => entry.name === "AGENT_SERVER")?.url;
  if (running && agentUrl && key) {
    try {
      if ((await agentCall(`${agentUrl}/health`, "GET", key)).status === 200) status = "RUNNING";
    } catch {
      status = "STARTING";
    }
  }
  return {
    id: container.Name.replace(/^\//, ""),
    created_by_user_id: null,
    sandbox_spec_id: image,
    status,
    session_api_key: running ? key : null,
    exposed_urls: running ? urls : null,
    created_at: container.Created,
  };
}

async function searchSandboxes(): Promise<SandboxInfo[]> {
  const containers = await docker.listAll();
  const mine = containers.filter((container) => container.Name.replace(/^\//, "").startsWith(namePrefix));
  const infos: SandboxInfo[] = [];
  for (const container of mine) {
    // Containers whose image has no tag are skipped (DSS L217-226).
    if ((await docker.imageTags(container.Image)).length === 0) continue;
    infos.push(await toSandboxInfo(container));
  }
  return infos;
}

/** DSS `start_sandbox` with docker-py's create body (review §2). */
async function startSandbox(): Promise<SandboxInfo> {
  await docker.ensureImage(image);
  const id = randomBytes(16).toString("base64url").replace(/[-_]/g, "").slice(0, 22);
  const name = `${namePrefix}${id}`;
  const key = randomBytes(32).toString("base64url").replace(/[-_]/g, "");
  const ports = Object.fromEntries(exposedPorts.map(({ port }) => [`${port}/tcp`, [{ HostIp: "", HostPort: String(30000 + Math.floor(Math.random() * 20000)) }]]));
  const container = await docker.run(name, {
    Image: image,
    Cmd: ["--port", "8000"],
    WorkingDir: "/workspace/project",
    Labels: { sandbox_spec_id: image },
    Env: [
      "OH_CONVERSATIONS_PATH=/workspace/conversations",
      "OH_BASH_EVENTS_DIR=/workspace/bash_events",
      "LOG_JSON=true",
      `OH_SESSION_API_KEYS_0=${key}`,
      `OH_WEBHOOKS_0_BASE_URL=http://host.docker.internal:${webhookPort}/api/v1/webhooks`,
      ...corsOrigins.map((origin, index) => `OH_ALLOW_CORS_ORIGINS_${index}=${origin}`),
      ...exposedPorts.map(({ name: portName, port }) => `${portName}=${port}`),
    ],
    ExposedPorts: Object.fromEntries(exposedPorts.map(({ port }) => [`${port}/tcp`, {}])),
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    Tty: false,
    OpenStdin: false,
    StdinOnce: false,
    NetworkDisabled: false,
    HostConfig: {
      NetworkMode: "default",
      PortBindings: ports,
      ExtraHosts: ["host.docker.internal:host-gateway"],
      Init: true,
    },
  });
  return toSandboxInfo(container);
}

async function waitRunning(sandboxId: string): Promise<SandboxInfo> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const info = (await searchSandboxes()).find((sandbox) => sandbox.id === sandboxId);
    if (info?.status === "RUNNING") return info;
    if (Date.now() > deadline) throw new Error(`sandbox ${sandboxId} did not become RUNNING (${info?.status ?? "MISSING"})`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function appConversation(conversationId: string): Promise<Record<string, unknown> | null> {
  const conversation = conversations.get(conversationId);
  if (!conversation) return null;
  const sandbox = (await searchSandboxes()).find((info) => info.id === conversation.sandboxId);
  const agentUrl = sandbox?.exposed_urls?.find((entry) => entry.name === "AGENT_SERVER")?.url;
  return {
    id: conversation.id,
    created_by_user_id: null,
    sandbox_id: conversation.sandboxId,
    title: `Conversation ${conversation.id.slice(0, 5)}`,
    sandbox_status: sandbox?.status ?? "MISSING",
    execution_status: sandbox?.status === "RUNNING" ? "idle" : null,
    // LSC ~L588: the agent-server URL plus /api/conversations/<hex>.
    conversation_url: agentUrl ? `${agentUrl}/api/conversations/${conversation.id}` : null,
    session_api_key: sandbox?.session_api_key ?? null,
    created_at: conversation.createdAt,
    updated_at: conversation.createdAt,
  };
}

async function startConversation(): Promise<Record<string, unknown>> {
  const created = await startSandbox();
  const sandbox = await waitRunning(created.id);
  const agentUrl = sandbox.exposed_urls!.find((entry) => entry.name === "AGENT_SERVER")!.url;
  const id = randomUUID().replace(/-/g, "");
  const reply = await agentCall(`${agentUrl}/api/conversations`, "POST", sandbox.session_api_key!, { conversation_id: id });
  if (reply.status !== 201 && reply.status !== 200) throw new Error(`agent-server refused the conversation: ${reply.status} ${reply.body}`);
  const now = new Date().toISOString();
  conversations.set(id, { id, sandboxId: sandbox.id, createdAt: now });
  const task = {
    id: randomUUID().replace(/-/g, ""),
    created_by_user_id: null,
    status: "READY",
    detail: null,
    app_conversation_id: id,
    sandbox_id: sandbox.id,
    agent_server_url: agentUrl,
    created_at: now,
    updated_at: now,
  };
  startTasks.set(task.id, task);
  return task;
}

const assets = join(__dirname, "spa");

async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://app");
  const path = url.pathname;
  const method = req.method ?? "GET";
  if (path === "/health" || path === "/ready") return send(res, 200, "OK", "text/plain");
  if (path === "/alive") return send(res, 200, { status: "ok" });
  if (path === "/api/v1/settings") {
    if (method === "GET") return settings ? send(res, 200, settings) : send(res, 404, { detail: "Settings not found" });
    if (method === "POST") {
      const body = await readJson(req);
      if ("agent_settings" in body) return send(res, 422, { detail: "agent_settings is not accepted; use agent_settings_diff" });
      settings = { ...(settings ?? {}), ...body };
      return send(res, 200, { message: "Settings stored" });
    }
  }
  if (path === "/api/v1/sandboxes/search") return send(res, 200, { items: await searchSandboxes(), next_page_id: null });
  if (path === "/api/v1/sandboxes" && method === "GET") {
    const ids = url.searchParams.getAll("id");
    const all = await searchSandboxes();
    return send(res, 200, ids.map((id) => all.find((info) => info.id === id) ?? null));
  }
  if (path === "/api/v1/sandboxes" && method === "POST") return send(res, 200, await startSandbox());
  if (path === "/api/v1/app-conversations" && method === "POST") return send(res, 200, await startConversation());
  if (path === "/api/v1/app-conversations" && method === "GET") {
    const ids = (url.searchParams.get("ids") ?? "").split(",").filter(Boolean);
    return send(res, 200, await Promise.all(ids.map((id) => appConversation(id))));
  }
  if (path === "/api/v1/app-conversations/search") {
    const items = await Promise.all([...conversations.keys()].map((id) => appConversation(id)));
    return send(res, 200, { items, next_page_id: null });
  }
  if (path === "/api/v1/app-conversations/start-tasks") {
    const ids = (url.searchParams.get("ids") ?? "").split(",").filter(Boolean);
    return send(res, 200, ids.map((id) => startTasks.get(id) ?? null));
  }
  if (path.startsWith("/api/v1/webhooks/") && method === "POST") {
    await readJson(req);
    webhooks.push(path);
    return send(res, 200, { success: true });
  }
  // Not an OpenHands route: lets the system test see which callbacks reached this app through the relay.
  if (path === "/api/v1/e2e/webhooks") return send(res, 200, webhooks);
  if (path.startsWith("/api/")) return send(res, 404, { detail: "Not Found" });
  if (path === "/assets/app.js") return send(res, 200, readFileSync(join(assets, "app.js"), "utf8"), "text/javascript; charset=utf-8");
  const page = readFileSync(join(assets, "index.html"), "utf8").replace("{{SANDBOX_PREFIX}}", namePrefix);
  return send(res, 200, page, "text/html; charset=utf-8");
}

const server = createServer((req, res) => {
  route(req, res).catch((error: Error) => send(res, 500, { detail: error.message }));
});
process.on("SIGTERM", () => process.exit(0));
// The real app runs alembic migrations and more before it listens; E2E_BOOT_DELAY_MS stands for that time.
setTimeout(() => {
  server.listen(placement.port, placement.bindIp, () => process.stdout.write("openhands app ready\n"));
}, Number(env.E2E_BOOT_DELAY_MS ?? 0));
