/**
 * Contract fake of the OpenHands app server, 1.7.0 or 1.11.0 (one user's `openhands` container), written from
 * the source at those tags; see README.md for what it follows and what it leaves out. Single-user like OSS
 * OpenHands: whoever reaches the port is the user (DefaultUserAuth); sandboxes authenticate with their keys.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { DockerPy } from "../docker-py";
import {
  BodyTooLarge,
  closeServer,
  isObject,
  listen,
  parseJson,
  readBody,
  sendJson,
  sendText,
  sendValidationError,
  type ExtraRoute,
  type SeenRequest,
} from "../http";
import type { AppVersion } from "../versions";
import { readAppConfig, type AppConfig } from "./config";
import { ConversationService, uuidHex } from "./conversations";
import { handleMcp } from "./mcp";
import { RemoteSandboxService } from "./remote-sandboxes";
import { DockerSandboxService, SandboxError, type SandboxInfo, type SandboxService } from "./sandboxes";
import { loadSettings, SettingsStore, storeSettings, type Settings } from "./settings";
import { APP_JS, INDEX_HTML } from "./spa";
import { verifyToken } from "./tokens";

export interface OpenHandsAppOptions {
  readonly version: AppVersion;
  /** The container's environment (what the spawner sets). @default {} */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** @default 0 (any free port) */
  readonly port?: number;
  /** @default "127.0.0.1" */
  readonly host?: string;
  /** Where settings.json lives. @default FILE_STORE_PATH (1.7.0) or OH_PERSISTENCE_DIR (1.11.0); memory when unset */
  readonly stateDir?: string;
  /** Settings already stored (a returning user). */
  readonly settings?: Settings;
  /** Git provider tokens the secrets webhook hands out, e.g. { github: "ghp_..." }. */
  readonly providerTokens?: Readonly<Record<string, string>>;
  /** How long start-up takes before the port listens (the real app runs migrations first). @default 0 */
  readonly bootDelayMs?: number;
  /** Test-only routes answered before OpenHands' own (never used by the standalone entry point). */
  readonly extraRoutes?: ExtraRoute;
  /** A docker-py client to use instead of one for DOCKER_HOST. */
  readonly docker?: DockerPy;
}

export interface RunningOpenHandsApp {
  readonly version: AppVersion;
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly config: AppConfig;
  /** Resolves once the port listens (at once unless bootDelayMs). */
  readonly ready: Promise<void>;
  /** Every request, in order. */
  readonly requests: SeenRequest[];
  /** Webhook paths that were accepted (authenticated sandbox callbacks). */
  readonly webhooks: string[];
  /** X-OpenHands-ServerConversation-ID of each MCP call. */
  readonly mcpCalls: string[];
  readonly sandboxes: SandboxService;
  readonly conversations: ConversationService;
  settings: Settings | undefined;
  close(): Promise<void>;
}

const SUCCESS = { success: true };

/** FastAPI's 422 for a required query parameter that is missing. */
function missingQuery(res: ServerResponse, name: string): void {
  sendJson(res, 422, { detail: [{ type: "missing", loc: ["query", name], msg: "Field required", input: null }] });
}

export async function startOpenHandsApp(options: OpenHandsAppOptions): Promise<RunningOpenHandsApp> {
  const env = options.env ?? {};
  const config = readAppConfig(options.version, env);
  const stateDir =
    options.stateDir ?? (options.version === "1.7.0" ? env.FILE_STORE_PATH : (env.OH_PERSISTENCE_DIR ?? env.FILE_STORE_PATH));
  const settingsStore = new SettingsStore(stateDir);
  if (options.settings) settingsStore.store(options.settings);
  const sandboxes: SandboxService = config.remote ? new RemoteSandboxService(config) : new DockerSandboxService(config, options.docker);
  const conversations = new ConversationService(config, sandboxes, settingsStore);
  for (const [provider, token] of Object.entries(options.providerTokens ?? {})) conversations.providerTokens.set(provider, token);
  const requests: SeenRequest[] = [];
  const webhooks: string[] = [];
  const mcpCalls: string[] = [];

  /** webhook_router.py L125-168 `valid_sandbox`: the X-Session-API-Key must belong to one of this app's sandboxes. */
  async function validSandbox(req: IncomingMessage, res: ServerResponse): Promise<SandboxInfo | undefined> {
    const key = req.headers["x-session-api-key"];
    // Stops anyone who can reach the relay from writing into this user's conversations without a sandbox key.
    if (typeof key !== "string" || key === "") {
      sendJson(res, 401, { detail: "X-Session-API-Key header is required" });
      return undefined;
    }
    const sandbox = await sandboxes.getSandboxBySessionApiKey(key);
    // Stops a sandbox key of another app (another user) from being accepted here.
    if (!sandbox) {
      sendJson(res, 401, { detail: "Invalid session API key" });
      return undefined;
    }
    return sandbox;
  }

  async function route(req: IncomingMessage, res: ServerResponse, body: string): Promise<void> {
    const url = new URL(req.url ?? "/", "http://app");
    const path = url.pathname;
    const method = req.method ?? "GET";

    // status_router.py (1.7.0): /health "OK", /alive {"status":"ok"}, /ready "OK".
    if (method === "GET" && (path === "/health" || path === "/ready")) return sendJson(res, 200, "OK");
    if (method === "GET" && path === "/alive") return sendJson(res, 200, { status: "ok" });
    if (method === "GET" && path === "/server_info") return sendJson(res, 200, { uptime: process.uptime(), version: options.version });

    if (path === "/mcp/mcp") return handleMcp(req, res, body, mcpCalls);

    if (path === "/api/v1/settings") {
      if (method === "GET") {
        const loaded = loadSettings(settingsStore);
        return sendJson(res, loaded.status, loaded.body);
      }
      if (method === "POST") {
        const payload = parseJson(body);
        if (!isObject(payload)) return sendValidationError(res, ["body"], "Input should be a valid dictionary");
        const stored = storeSettings(settingsStore, payload);
        return sendJson(res, stored.status, stored.body);
      }
    }

    if (path === "/api/v1/sandboxes/search" && method === "GET") {
      const limit = url.searchParams.get("limit");
      if (limit !== null && (!/^\d+$/.test(limit) || Number(limit) < 1 || Number(limit) > 100)) {
        return sendValidationError(res, ["query", "limit"], "Input should be greater than 0 and at most 100");
      }
      return sendJson(res, 200, await sandboxes.searchSandboxes(url.searchParams.get("page_id") ?? undefined, limit ? Number(limit) : 100));
    }
    if (path === "/api/v1/sandboxes" && method === "GET") {
      // sandbox_router.py L55-67: `id` is a repeated query parameter; one answer (or null) per id, in order.
      const ids = url.searchParams.getAll("id");
      if (ids.length === 0) return missingQuery(res, "id");
      if (ids.length > 100) return sendJson(res, 400, { detail: `Cannot request more than 100 sandboxes at once, got ${ids.length}` });
      const found: Array<SandboxInfo | null> = [];
      for (const id of ids) found.push(await sandboxes.getSandbox(id));
      return sendJson(res, 200, found);
    }
    if (path === "/api/v1/sandboxes" && method === "POST") {
      try {
        return sendJson(res, 200, await sandboxes.startSandbox());
      } catch (error) {
        if (error instanceof SandboxError) return sendText(res, 500, "Internal Server Error", "text/plain; charset=utf-8");
        throw error;
      }
    }
    const sandboxAction = /^\/api\/v1\/sandboxes\/([^/]+)(?:\/(pause|resume))?$/.exec(path);
    if (sandboxAction) {
      const id = decodeURIComponent(sandboxAction[1]!);
      let done: boolean | undefined;
      if (method === "POST" && sandboxAction[2] === "pause") done = await sandboxes.pauseSandbox(id);
      else if (method === "POST" && sandboxAction[2] === "resume") done = await sandboxes.resumeSandbox(id);
      else if (method === "DELETE" && !sandboxAction[2]) done = await sandboxes.deleteSandbox(id);
      if (done !== undefined) return done ? sendJson(res, 200, SUCCESS) : sendJson(res, 404, { detail: "Not Found" });
    }

    if (path === "/api/v1/app-conversations" && method === "POST") {
      const request = body.trim() === "" ? {} : parseJson(body);
      if (!isObject(request)) return sendValidationError(res, ["body"], "Input should be a valid dictionary or object");
      return sendJson(res, 200, conversations.start(request));
    }
    if (path === "/api/v1/app-conversations" && method === "GET") {
      // app_conversation_router.py L313-348: repeated `ids`; a value that is not a UUID (e.g. "a,b") is a 400.
      const ids = url.searchParams.getAll("ids");
      if (ids.length === 0) return missingQuery(res, "ids");
      const invalid = ids.filter((id) => !uuidHex(id));
      if (invalid.length > 0)
        return sendJson(res, 400, { detail: `Invalid UUID format for ids: [${invalid.map((id) => `'${id}'`).join(", ")}]` });
      const found: Array<Record<string, unknown> | null> = [];
      for (const id of ids) found.push(await conversations.appConversation(uuidHex(id)!));
      return sendJson(res, 200, found);
    }
    if (path === "/api/v1/app-conversations/search" && method === "GET") {
      const items: Array<Record<string, unknown>> = [];
      for (const id of [...conversations.conversations.keys()].reverse()) {
        const conversation = await conversations.appConversation(id);
        if (conversation) items.push(conversation);
      }
      return sendJson(res, 200, { items, next_page_id: null });
    }
    if (path === "/api/v1/app-conversations/start-tasks" && method === "GET") {
      // app_conversation_router.py L734-750: `ids: list[UUID]`, repeated; more than 100 is a 400.
      const ids = url.searchParams.getAll("ids");
      if (ids.length === 0) return missingQuery(res, "ids");
      const invalid = ids.find((id) => !uuidHex(id));
      if (invalid !== undefined)
        return sendValidationError(res, ["query", "ids", String(ids.indexOf(invalid))], "Input should be a valid UUID");
      if (ids.length > 100) return sendJson(res, 400, { detail: `Cannot request more than 100 start tasks at once, got ${ids.length}` });
      return sendJson(
        res,
        200,
        ids.map((id) => conversations.tasks.get(uuidHex(id)!) ?? null),
      );
    }
    if (path === "/api/v1/app-conversations/start-tasks/search" && method === "GET") {
      return sendJson(res, 200, { items: [...conversations.tasks.values()].reverse(), next_page_id: null });
    }

    if (path === "/api/v1/webhooks/conversations" && method === "POST") {
      const sandbox = await validSandbox(req, res);
      if (!sandbox) return;
      const info = parseJson(body);
      const id = isObject(info) && typeof info.id === "string" ? uuidHex(info.id) : undefined;
      if (!isObject(info) || !id) return sendValidationError(res, ["body", "id"], "Input should be a valid UUID");
      const agent = isObject(info.agent) ? info.agent : {};
      const llm = isObject(agent.llm) ? agent.llm : {};
      if (info.execution_status !== "deleting")
        conversations.recordConversation(id, sandbox.id, typeof llm.model === "string" ? llm.model : null);
      webhooks.push(path);
      return sendJson(res, 200, SUCCESS);
    }
    const eventsHook = /^\/api\/v1\/webhooks\/events\/([^/]+)$/.exec(path);
    if (eventsHook && method === "POST") {
      const sandbox = await validSandbox(req, res);
      if (!sandbox) return;
      const id = uuidHex(decodeURIComponent(eventsHook[1]!));
      if (!id) return sendValidationError(res, ["path", "conversation_id"], "Input should be a valid UUID");
      const events = parseJson(body);
      if (!Array.isArray(events)) return sendValidationError(res, ["body"], "Input should be a valid list");
      const record = conversations.conversations.get(id);
      // valid_conversation (L171-191) makes a stub for an unknown conversation under the calling sandbox.
      if (!record) conversations.recordConversation(id, sandbox.id, null);
      conversations.conversations.get(id)!.events += events.length;
      webhooks.push(path);
      return sendJson(res, 200, SUCCESS);
    }
    if (path === "/api/v1/webhooks/secrets" && method === "GET") {
      // L302-335: the X-Access-Token must be a token this app signed (JWT_SECRET); stops forged or foreign tokens.
      const token = req.headers["x-access-token"];
      const payload = verifyToken(config.jwtSecret, typeof token === "string" ? token : undefined);
      if (!payload) return sendJson(res, 401, { detail: "Unauthorized" });
      const secret = conversations.providerTokens.get(String(payload.provider_type));
      if (secret === undefined) return sendJson(res, 404, { detail: "No such provider" });
      webhooks.push(path);
      return sendText(res, 200, secret, "text/plain; charset=utf-8");
    }

    // Not an OpenHands route: which sandbox callbacks reached this app (the system test reads it through the proxy).
    if (path === "/api/v1/e2e/webhooks" && method === "GET") return sendJson(res, 200, webhooks);
    if (path.startsWith("/api/") || path.startsWith("/mcp")) return sendJson(res, 404, { detail: "Not Found" });
    if (path === "/assets/app.js") return sendText(res, 200, APP_JS, "text/javascript; charset=utf-8");
    // server/static.py: the SPA answers every other path with index.html and 200.
    return sendText(res, 200, INDEX_HTML.replace("{{SANDBOX_PREFIX}}", config.containerNamePrefix), "text/html; charset=utf-8");
  }

  const server: Server = createServer((req, res) => {
    readBody(req)
      .then(async (body) => {
        requests.push({ method: req.method ?? "GET", url: req.url ?? "/", headers: req.headers, body });
        if (options.extraRoutes && (await options.extraRoutes(req, res, body))) return;
        await route(req, res, body);
      })
      .catch((error: unknown) => {
        if (res.headersSent) return void res.destroy();
        if (error instanceof BodyTooLarge) return sendJson(res, 413, { detail: error.message });
        sendText(res, 500, "Internal Server Error", "text/plain; charset=utf-8");
      });
  });

  const host = options.host ?? "127.0.0.1";
  let port = options.port ?? 0;
  let ready: Promise<void>;
  if (options.bootDelayMs && options.bootDelayMs > 0) {
    if (port === 0) {
      port = await listen(server, 0, host);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    ready = new Promise((resolve, reject) =>
      setTimeout(() => listen(server, port, host).then(() => resolve(), reject), options.bootDelayMs),
    );
  } else {
    port = await listen(server, port, host);
    ready = Promise.resolve();
  }
  return {
    version: options.version,
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    host,
    port,
    config,
    ready,
    requests,
    webhooks,
    mcpCalls,
    sandboxes,
    conversations,
    get settings() {
      return settingsStore.load();
    },
    set settings(value: Settings | undefined) {
      if (value) settingsStore.store(value);
      else settingsStore.clear();
    },
    close: async () => {
      await ready.catch(() => undefined);
      if (server.listening) await closeServer(server);
    },
  };
}
