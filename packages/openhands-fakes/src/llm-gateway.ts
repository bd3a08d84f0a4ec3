/**
 * Contract fake of the OpenAI-compatible LLM gateway: a LiteLLM proxy with a master key and this project's custom-auth
 * hook (packages/bootstrap-scripts/files/host-bundle/llm-gateway/oh_llm_gateway.py), for the routes a sandbox's agent
 * and the host's health check use. Answers are deterministic (no model runs): the reply quotes the last user message,
 * so a test can tell which request it answers. The real LiteLLM image cannot run here (no registry, no provider
 * credentials).
 *
 * - `GET /health/liveliness`: `"I'm alive!"` (litellm/proxy/health_endpoints/_health_endpoints.py);
 * - `GET /v1/models` (and `/models`): the configured model names, behind a key;
 * - `POST /v1/chat/completions` (and `/chat/completions`): an OpenAI chat completion, or its SSE stream with
 *   `"stream": true`, behind `Authorization: Bearer <key>`; a wrong or missing key gets LiteLLM's 401 body
 *   `{"error":{"message","type":"auth_error","param","code":"401"}}` (litellm/proxy/auth/auth_exception_handler.py).
 * - Keys, as the hook checks them: a person's key `sk-oh-<slug>-<mac>` (docs/CONTRACTS.md, "LLM gateway keys") works on
 *   the model routes only (403 elsewhere) unless the person is disabled (401); the master key works from loopback only.
 *   Over `requestsPerMinute` a person gets the hook's 429. Every completion is one `llm_usage` record (person, model,
 *   tokens, cost; no text), kept in `usage` and passed to `onUsage`.
 */
import { randomUUID, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { verifyLlmUserKey } from "@openhands-team/contracts";
import { BodyTooLarge, closeServer, isObject, listen, parseJson, readBody, sendJson, type SeenRequest } from "./http";

export interface LlmGatewayOptions {
  /** LITELLM_MASTER_KEY; keys start with "sk-" in LiteLLM. */
  readonly masterKey: string;
  /** @default 0 */
  readonly port?: number;
  /** @default "127.0.0.1" */
  readonly host?: string;
  /** Model names /v1/models lists and completions accept. @default any model is accepted, none listed beyond "claude" */
  readonly models?: readonly string[];
  /** Slugs of people disabled in the user pool (the hook lists them from Cognito), asked at every request. @default nobody */
  readonly disabledSlugs?: () => readonly string[];
  /** OH_LLM_REQUESTS_PER_MINUTE of the hook. @default no limit */
  readonly requestsPerMinute?: number;
  /** Called with every usage record, as the hook prints it. */
  readonly onUsage?: (record: UsageRecord) => void;
}

/** The hook's `llm_usage` record: no prompt, no completion, no key. */
export interface UsageRecord {
  readonly event: "llm_usage";
  readonly status: "success";
  readonly user: string;
  readonly model: string;
  readonly input_tokens: number;
  readonly output_tokens: number;
  readonly cost_usd: number;
  readonly call_type: string;
  readonly at: string;
}

export interface RunningLlmGateway {
  readonly url: string;
  readonly port: number;
  readonly requests: SeenRequest[];
  readonly usage: UsageRecord[];
  close(): Promise<void>;
}

function keyOf(req: IncomingMessage): string | undefined {
  const authorization = req.headers.authorization;
  if (typeof authorization === "string" && /^Bearer\s+/i.test(authorization)) return authorization.replace(/^Bearer\s+/i, "").trim();
  const alternative = req.headers["x-litellm-api-key"] ?? req.headers["api-key"];
  return typeof alternative === "string" ? alternative.replace(/^Bearer\s+/i, "").trim() : undefined;
}

function sameKey(given: string | undefined, expected: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function authError(res: ServerResponse, message: string, status = 401): void {
  sendJson(res, status, {
    error: { message: `Authentication Error, ${message}`, type: "auth_error", param: "None", code: String(status) },
  });
}

const MODEL_ROUTES = new Set(["/chat/completions", "/v1/chat/completions", "/models", "/v1/models"]);
const LOOPBACK = new Set(["127.0.0.1", "::1", "::ffff:127.0.0.1"]);

/** The slug whose key this is (docs/CONTRACTS.md, "LLM gateway keys"; the hook's verify_user_key). */
function personOf(key: string, masterKey: string): string | undefined {
  try {
    return verifyLlmUserKey(masterKey, key);
  } catch {
    // A master key the contract refuses (the hook does not start with one) derives no person's key.
    return undefined;
  }
}

/** The last user message's text, for the deterministic answer. */
function lastUserText(messages: unknown): string {
  if (!Array.isArray(messages)) return "";
  for (let index = messages.length - 1; index >= 0; index -= 1) {
    const message = messages[index] as unknown;
    if (!isObject(message) || message.role !== "user") continue;
    if (typeof message.content === "string") return message.content;
    if (Array.isArray(message.content))
      return message.content.map((part) => (isObject(part) && typeof part.text === "string" ? part.text : "")).join("");
  }
  return "";
}

export async function startLlmGateway(options: LlmGatewayOptions): Promise<RunningLlmGateway> {
  if (!options.masterKey) throw new Error("masterKey (LITELLM_MASTER_KEY): empty; the gateway would accept no key at all");
  const models = options.models ?? ["claude"];
  const requests: SeenRequest[] = [];
  const records: UsageRecord[] = [];
  const recent = new Map<string, number[]>();

  function route(req: IncomingMessage, res: ServerResponse, body: string): void {
    const path = new URL(req.url ?? "/", "http://gateway").pathname;
    if (path === "/health/liveliness" || path === "/health/readiness")
      return sendJson(res, 200, path.endsWith("liveliness") ? "I'm alive!" : { status: "healthy" });
    const given = keyOf(req);
    // Stops a sandbox (or anyone on the bridge) without a key from spending the gateway's LLM budget.
    if (!given) return authError(res, "no LLM gateway key passed (Authorization: Bearer sk-oh-...)");
    let person = "gateway-admin";
    if (sameKey(given, options.masterKey)) {
      // Master key theft: the master key works from the host itself only, never from a user's bridge.
      if (!LOOPBACK.has(req.socket.remoteAddress ?? "")) {
        return authError(res, "the master key is accepted from the host only; use your own key (sk-oh-...)");
      }
    } else {
      const slug = personOf(given, options.masterKey);
      // Impersonation and forgery: only a key derived from the master key for that very slug names a person.
      if (!slug) return authError(res, "not a valid LLM gateway key");
      // Privilege escalation: a person's key reaches the model routes only.
      if (!MODEL_ROUTES.has(path)) return authError(res, `a personal key works on the model routes only, not ${path.slice(0, 100)}`, 403);
      // Revoked person: a disabled person's key stops working.
      if (options.disabledSlugs?.().includes(slug)) {
        return authError(res, `the key of user ${slug} is revoked: the person is disabled in the user pool`);
      }
      person = slug;
      const limit = options.requestsPerMinute;
      if (limit !== undefined && path.endsWith("/chat/completions")) {
        const now = Date.now();
        const calls = (recent.get(slug) ?? []).filter((at) => at > now - 60_000);
        // Runaway agent: one person's loop cannot take the team's whole quota.
        if (calls.length >= limit) {
          const wait = Math.max(1, Math.ceil(((calls[0] ?? now) + 60_000 - now) / 1000));
          const message =
            `Rate limit: user ${slug}: ${calls.length} model calls in the last minute reach the limit of ${limit} per person ` +
            `(bedrock.perUser.requestsPerMinute); try again in ${wait} s`;
          return sendJson(res, 429, { error: { message, type: "rate_limit_error", param: "None", code: "429" } });
        }
        recent.set(slug, [...calls, now]);
      }
    }
    if ((path === "/v1/models" || path === "/models") && req.method === "GET") {
      return sendJson(res, 200, {
        data: models.map((id) => ({ id, object: "model", created: 1677610602, owned_by: "openai" })),
        object: "list",
      });
    }
    if ((path === "/v1/chat/completions" || path === "/chat/completions") && req.method === "POST") {
      const request = parseJson(body);
      if (!isObject(request) || typeof request.model !== "string" || !Array.isArray(request.messages)) {
        return sendJson(res, 400, {
          error: { message: "model and messages are required", type: "invalid_request_error", param: "None", code: "400" },
        });
      }
      const model = request.model.replace(/^litellm_proxy\//, "");
      if (options.models && !options.models.includes(model)) {
        return sendJson(res, 400, {
          error: { message: `Invalid model name passed in model=${model}`, type: "invalid_request_error", param: "model", code: "400" },
        });
      }
      const text = `Deterministic answer to: ${lastUserText(request.messages)}`;
      const id = `chatcmpl-${randomUUID()}`;
      const created = Math.floor(Date.now() / 1000);
      const usage = {
        prompt_tokens: JSON.stringify(request.messages).length,
        completion_tokens: text.length,
        total_tokens: JSON.stringify(request.messages).length + text.length,
      };
      const record: UsageRecord = {
        event: "llm_usage",
        status: "success",
        user: person,
        model,
        input_tokens: usage.prompt_tokens,
        output_tokens: usage.completion_tokens,
        // a made-up price (3 and 15 dollars a million tokens); the real gateway takes LiteLLM's estimate
        cost_usd: (usage.prompt_tokens * 3 + usage.completion_tokens * 15) / 1_000_000,
        call_type: "acompletion",
        at: new Date().toISOString(),
      };
      records.push(record);
      options.onUsage?.(record);
      if (request.stream === true) {
        res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
        const chunk = (choice: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
          `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model, choices: [{ index: 0, ...choice }], ...extra })}` +
          "\n\n";
        res.write(chunk({ delta: { role: "assistant", content: text }, finish_reason: null }));
        res.write(chunk({ delta: {}, finish_reason: "stop" }, { usage }));
        return void res.end("data: [DONE]\n\n");
      }
      return sendJson(res, 200, {
        id,
        object: "chat.completion",
        created,
        model,
        choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
        usage,
      });
    }
    sendJson(res, 404, { detail: "Not Found" });
  }

  const server: Server = createServer((req, res) => {
    readBody(req)
      .then((body) => {
        requests.push({ method: req.method ?? "GET", url: req.url ?? "/", headers: req.headers, body });
        route(req, res, body);
      })
      .catch((error: unknown) => {
        if (res.headersSent) return void res.destroy();
        sendJson(res, error instanceof BodyTooLarge ? 413 : 500, {
          error: { message: (error as Error).message, type: "internal_error", param: "None", code: "500" },
        });
      });
  });
  const host = options.host ?? "127.0.0.1";
  const port = await listen(server, options.port ?? 0, host);
  return {
    url: `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`,
    port,
    requests,
    usage: records,
    close: () => closeServer(server),
  };
}
