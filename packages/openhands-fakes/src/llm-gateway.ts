/**
 * Contract fake of the OpenAI-compatible LLM gateway (a LiteLLM proxy with a master key): the routes a sandbox's
 * agent and the host's health check use. Answers are deterministic (no model runs): the reply quotes the last
 * user message, so a test can tell which request it answers. The real LiteLLM image cannot run here (no
 * registry, no provider credentials).
 *
 * - `GET /health/liveliness`: `"I'm alive!"` (litellm/proxy/health_endpoints/_health_endpoints.py);
 * - `GET /v1/models` (and `/models`): the configured model names, behind the key;
 * - `POST /v1/chat/completions` (and `/chat/completions`): an OpenAI chat completion, or its SSE stream with
 *   `"stream": true`, behind `Authorization: Bearer <key>`; a wrong or missing key gets LiteLLM's 401 body
 *   `{"error":{"message","type":"auth_error","param","code":"401"}}` (litellm/proxy/auth/user_api_key_auth.py).
 */
import { randomUUID, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
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
}

export interface RunningLlmGateway {
  readonly url: string;
  readonly port: number;
  readonly requests: SeenRequest[];
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

function authError(res: ServerResponse, message: string): void {
  sendJson(res, 401, { error: { message: `Authentication Error, ${message}`, type: "auth_error", param: "None", code: "401" } });
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

  function route(req: IncomingMessage, res: ServerResponse, body: string): void {
    const path = new URL(req.url ?? "/", "http://gateway").pathname;
    if (path === "/health/liveliness" || path === "/health/readiness")
      return sendJson(res, 200, path.endsWith("liveliness") ? "I'm alive!" : { status: "healthy" });
    const given = keyOf(req);
    // Stops a sandbox (or anyone on the bridge) without the key from spending the gateway's LLM budget.
    if (!given) return authError(res, "No api key passed in.");
    if (!sameKey(given, options.masterKey)) return authError(res, "Invalid proxy server token passed. valid_token=None.");
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
      if (request.stream === true) {
        res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
        res.write(
          `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model, choices: [{ index: 0, delta: { role: "assistant", content: text }, finish_reason: null }] })}\n\n`,
        );
        res.write(
          `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model, choices: [{ index: 0, delta: {}, finish_reason: "stop" }], usage })}\n\n`,
        );
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
  return { url: `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`, port, requests, close: () => closeServer(server) };
}
