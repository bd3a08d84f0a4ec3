/** Talks to a user's OpenHands app: health, and the one-time seeding of LLM settings. */
import { request as httpRequest } from "node:http";

export interface HttpAnswer {
  status: number;
  body: string;
}

export function httpCall(url: string, method: string, body?: unknown, timeoutMs = 5_000): Promise<HttpAnswer> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method,
        timeout: timeoutMs,
        agent: false,
        headers: payload ? { "content-type": "application/json", "content-length": String(payload.length) } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${url}: no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end(payload);
  });
}

/** Polls `GET /health` (status_router.py answers "OK") until 200 or the deadline. */
export async function waitForHealth(
  upstream: string,
  timeoutMs: number,
  intervalMs: number,
  isCancelled: () => boolean = () => false,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer";
  while (Date.now() < deadline) {
    if (isCancelled()) throw new Error("cancelled: the app stopped while starting");
    try {
      const answer = await httpCall(`${upstream}/health`, "GET", undefined, Math.min(5_000, Math.max(500, intervalMs * 4)));
      if (answer.status === 200) return;
      last = `status ${answer.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`the app at ${upstream} was not healthy within ${timeoutMs} ms (${last})`);
}

export interface LlmSeed {
  model: string;
  baseUrl: string;
  /** This person's gateway key (docs/CONTRACTS.md, "LLM gateway keys"), never the gateway's master key. */
  apiKey: string;
}

/**
 * `seeded`: first settings written; `key-refreshed`: settings that use the gateway got this person's key; `kept`: settings of the person's
 * own.
 */
export type SeedOutcome = "seeded" | "key-refreshed" | "kept";

/**
 * Seeds the user's LLM settings so that the first conversation works with nothing to type, and keeps what the user
 * chose. While `GET /api/v1/settings` says 404 (nothing stored) it writes model, base URL and key. When settings exist
 * and still name the gateway (`agent_settings.llm.base_url` is the gateway's URL), it writes the person's key alone
 * (`agent_settings_diff` is deep-merged, so their model and every other setting stay): a key seeded by an earlier
 * release (the shared master key) or derived from a rotated master key is replaced at the next start. Settings that
 * point at another provider are never touched. GET masks the stored key, so the key is written at every start.
 * The endpoint takes `agent_settings_diff` (the legacy `agent_settings` key is rejected with 422).
 */
export async function seedLlmSettings(upstream: string, seed: LlmSeed): Promise<SeedOutcome> {
  const current = await httpCall(`${upstream}/api/v1/settings`, "GET");
  let payload: Record<string, unknown>;
  let outcome: SeedOutcome;
  if (current.status === 404) {
    payload = {
      agent_settings_diff: { llm: { model: seed.model, base_url: seed.baseUrl, api_key: seed.apiKey } },
      user_consents_to_analytics: false,
    };
    outcome = "seeded";
  } else if (current.status === 200) {
    if (storedBaseUrl(current.body) !== seed.baseUrl) return "kept";
    payload = { agent_settings_diff: { llm: { api_key: seed.apiKey } } };
    outcome = "key-refreshed";
  } else {
    throw new Error(`GET /api/v1/settings answered ${current.status}`);
  }
  const answer = await httpCall(`${upstream}/api/v1/settings`, "POST", payload);
  if (answer.status < 200 || answer.status >= 300)
    throw new Error(`POST /api/v1/settings answered ${answer.status}: ${answer.body.slice(0, 200)}`);
  return outcome;
}

/** `agent_settings.llm.base_url` of a GET /api/v1/settings answer, or undefined. */
function storedBaseUrl(body: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new Error("GET /api/v1/settings answered 200 with a body that is not JSON");
  }
  const agent = (parsed as { agent_settings?: { llm?: { base_url?: unknown } } } | null)?.agent_settings;
  const baseUrl = agent?.llm?.base_url;
  return typeof baseUrl === "string" ? baseUrl : undefined;
}
