/**
 * The per-user key of the remote sandbox API the spawner serves in ECS mode (docs/ecs.md, section 3). The ECS app
 * backend puts it into a user's app as `OH_SANDBOX_API_KEY`; the sandbox service reads the user from it, so every
 * call it answers is scoped to that user's sandboxes. Same shape as the LLM gateway keys (contracts/llm-user-key).
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { isUserSlug } from "@openhands-team/contracts";

export const SANDBOX_API_KEY_PREFIX = "oh-sbx-";
const DOMAIN = "oh-sandbox-api-key:v1:";
const PATTERN = /^oh-sbx-([a-z2-7]{16})-([A-Za-z0-9_-]{43})$/;

/** `"oh-sbx-" + slug + "-" + base64url(HMAC-SHA256(secret, "oh-sandbox-api-key:v1:" + slug))`. */
export function sandboxApiKey(secret: string, slug: string): string {
  if (secret.length < 32) throw new Error(`sandboxApiKey: the spawner's secret is too short (${secret.length} characters, 32 at least)`);
  if (!isUserSlug(slug)) throw new Error(`sandboxApiKey: ${JSON.stringify(slug)} is not a user slug`);
  const mac = createHmac("sha256", Buffer.from(secret, "utf8")).update(`${DOMAIN}${slug}`, "utf8").digest("base64url");
  return `${SANDBOX_API_KEY_PREFIX}${slug}-${mac}`;
}

/** The user whose key this is, or undefined: another shape, or a key not derived from this secret. */
export function verifySandboxApiKey(secret: string, key: string): string | undefined {
  const slug = PATTERN.exec(key)?.[1];
  if (!slug) return undefined;
  const expected = Buffer.from(sandboxApiKey(secret, slug));
  const given = Buffer.from(key);
  // Timing attack: the comparison takes the same time wherever the first wrong character is.
  return expected.length === given.length && timingSafeEqual(expected, given) ? slug : undefined;
}
