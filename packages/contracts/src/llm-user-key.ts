// The per-person LLM gateway key (docs/CONTRACTS.md, "LLM gateway keys"): the spawner derives it when it seeds a
// person's settings, the gateway's custom-auth hook (packages/bootstrap-scripts/files/host-bundle/llm-gateway/
// oh_llm_gateway.py) derives it again to check it. Both are held to vectors/llm-user-key.json.
import { createHmac, timingSafeEqual } from "node:crypto";
import { isUserSlug } from "./slug";

/** Every user key starts with this (LiteLLM wants keys that start with "sk-"; "oh-" tells them from the master key). */
export const LLM_USER_KEY_PREFIX = "sk-oh-";
/** The text HMAC'd for a slug, before the slug. The version lets a later derivation live next to this one. */
export const LLM_USER_KEY_DOMAIN = "oh-llm-user-key:v1:";
/** `sk-oh-<slug>-<43 characters of base64url>`: 65 characters. */
export const LLM_USER_KEY_PATTERN = /^sk-oh-([a-z2-7]{16})-([A-Za-z0-9_-]{43})$/;

/**
 * `"sk-oh-" + slug + "-" + base64url(HMAC-SHA256(masterKey, "oh-llm-user-key:v1:" + slug))`, no padding. The HMAC key is
 * the gateway's master key exactly as LiteLLM holds it (`sk-` + the llm-gateway-key secret), as UTF-8.
 */
export function llmUserKey(masterKey: string, slug: string): string {
  if (!masterKey.startsWith("sk-") || masterKey.length < 20) {
    throw new Error(
      `llmUserKey: the master key is not a gateway key (expected "sk-" followed by the llm-gateway-key secret, got ` +
        `${masterKey.length} characters)`,
    );
  }
  if (masterKey.startsWith(LLM_USER_KEY_PREFIX))
    throw new Error("llmUserKey: the master key is itself a user key (sk-oh-...); pass the gateway's master key");
  if (!isUserSlug(slug)) throw new Error(`llmUserKey: ${JSON.stringify(slug)} is not a user slug (expected 16 characters of a-z and 2-7)`);
  const mac = createHmac("sha256", Buffer.from(masterKey, "utf8")).update(`${LLM_USER_KEY_DOMAIN}${slug}`, "utf8").digest("base64url");
  return `${LLM_USER_KEY_PREFIX}${slug}-${mac}`;
}

/** The slug a key claims to belong to, or undefined when it is not shaped like a user key (the claim is not checked). */
export function llmUserKeySlug(key: string): string | undefined {
  return LLM_USER_KEY_PATTERN.exec(key)?.[1];
}

/** The slug whose key this is, or undefined: a key of another shape, or one not derived from this master key. */
export function verifyLlmUserKey(masterKey: string, key: string): string | undefined {
  const slug = llmUserKeySlug(key);
  if (!slug) return undefined;
  const expected = Buffer.from(llmUserKey(masterKey, slug));
  const given = Buffer.from(key);
  // Timing attack: the comparison takes the same time wherever the first wrong character is.
  return expected.length === given.length && timingSafeEqual(expected, given) ? slug : undefined;
}
