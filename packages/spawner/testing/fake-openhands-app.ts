/**
 * A contract fake of the OpenHands 1.7.0 app server, for the endpoints the spawner and the relay touch.
 *
 * Shaped after the pinned source (openhands-1.7-facts.md §4, design review §4 and §6.2):
 * - `GET /health` → `"OK"`, `GET /alive` → `{"status":"ok"}` (status_router.py);
 * - `GET /api/v1/settings` → 404 until settings exist (settings_router.py L114-117), then 200;
 * - `POST /api/v1/settings` takes `agent_settings_diff` and rejects the legacy `agent_settings` key with 422;
 * - sandbox callbacks `/api/v1/webhooks/*` and `/mcp/mcp` answer 200 and are recorded;
 * - every other path answers 200 with an HTML page, like the SPA fallback (server/static.py), so a test
 *   can tell that a request reached the app.
 *
 * Usage: `const app = await startFakeOpenHandsApp({ host: "127.0.0.1", port: 0 }); app.url; app.requests; await app.close()`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

export interface FakeAppRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface FakeOpenHandsAppOptions {
  host?: string;
  port?: number;
  /** /health answers 503 until this many ms after start. @default 0 */
  healthyAfterMs?: number;
  /** Settings already stored (a returning user). */
  settings?: Record<string, unknown>;
}

export interface FakeOpenHandsApp {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly requests: FakeAppRequest[];
  settings: Record<string, unknown> | undefined;
  close(): Promise<void>;
}

function merge(target: Record<string, unknown>, diff: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...target };
  for (const [key, value] of Object.entries(diff)) {
    const current = out[key];
    out[key] =
      value && typeof value === "object" && !Array.isArray(value) && current && typeof current === "object" && !Array.isArray(current)
        ? merge(current as Record<string, unknown>, value as Record<string, unknown>)
        : value;
  }
  return out;
}

export async function startFakeOpenHandsApp(options: FakeOpenHandsAppOptions = {}): Promise<FakeOpenHandsApp> {
  const startedAt = Date.now();
  const requests: FakeAppRequest[] = [];
  const state: { settings: Record<string, unknown> | undefined } = { settings: options.settings };

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };

  const handle = (req: IncomingMessage, res: ServerResponse, body: string) => {
    const url = new URL(req.url ?? "/", "http://app");
    const path = url.pathname;
    requests.push({ method: req.method ?? "GET", path: req.url ?? "/", headers: req.headers, body });
    if (path === "/health" || path === "/ready") {
      if (Date.now() - startedAt < (options.healthyAfterMs ?? 0)) return json(res, 503, { detail: "starting" });
      return json(res, 200, "OK");
    }
    if (path === "/alive") return json(res, 200, { status: "ok" });
    if (path === "/api/v1/settings") {
      if (req.method === "GET") {
        if (!state.settings) return json(res, 404, { detail: "Settings not found" });
        return json(res, 200, state.settings);
      }
      if (req.method === "POST") {
        let parsed: Record<string, unknown>;
        try {
          parsed = JSON.parse(body) as Record<string, unknown>;
        } catch {
          return json(res, 422, { detail: "invalid JSON" });
        }
        if ("agent_settings" in parsed) return json(res, 422, { detail: "agent_settings is not accepted; use agent_settings_diff" });
        const { agent_settings_diff: diff, ...rest } = parsed;
        const current = state.settings ?? { agent_settings: {} };
        const agentSettings = merge((current.agent_settings as Record<string, unknown>) ?? {}, (diff as Record<string, unknown>) ?? {});
        state.settings = { ...current, ...rest, agent_settings: agentSettings };
        return json(res, 200, { message: "Settings stored" });
      }
    }
    if (path.startsWith("/api/v1/webhooks/") || path === "/mcp/mcp") {
      return json(res, 200, { ok: true, path });
    }
    res.writeHead(200, { "content-type": "text/html" });
    res.end("<!doctype html><title>OpenHands</title>");
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => handle(req, res, Buffer.concat(chunks).toString("utf8")));
  });
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://${host}:${port}`,
    host,
    port,
    requests,
    get settings() {
      return state.settings;
    },
    set settings(value) {
      state.settings = value;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
