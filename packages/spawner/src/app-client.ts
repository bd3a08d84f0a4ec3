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
  apiKey: string;
}

export type SeedOutcome = "seeded" | "kept";

/**
 * Seeds the user's LLM settings so that the first conversation works with nothing to type, and never
 * overwrites what the user changed: it writes only while `GET /api/v1/settings` says 404 (no settings yet).
 * The endpoint takes `agent_settings_diff` (the legacy `agent_settings` key is rejected with 422).
 */
export async function seedLlmSettings(upstream: string, seed: LlmSeed): Promise<SeedOutcome> {
  const current = await httpCall(`${upstream}/api/v1/settings`, "GET");
  if (current.status === 200) return "kept";
  if (current.status !== 404) throw new Error(`GET /api/v1/settings answered ${current.status}`);
  const answer = await httpCall(`${upstream}/api/v1/settings`, "POST", {
    agent_settings_diff: { llm: { model: seed.model, base_url: seed.baseUrl, api_key: seed.apiKey } },
    user_consents_to_analytics: false,
  });
  if (answer.status < 200 || answer.status >= 300)
    throw new Error(`POST /api/v1/settings answered ${answer.status}: ${answer.body.slice(0, 200)}`);
  return "seeded";
}
