// The user slug (docs/CONTRACTS.md, "Names and keys"): the one TypeScript implementation. The runtime proxy's Lua and the
// host's shell never compute it; they test what they do with slugs against vectors/slug.json.
import { createHash } from "node:crypto";

/** The prefix hashed in front of the Cognito `sub`, so that a slug is never the bare hash of an identifier used elsewhere. */
export const SLUG_HASH_PREFIX = "oh-user:";
export const SLUG_LENGTH = 16;
/** 16 characters of lower-case RFC 4648 base32: DNS-safe, 80 bits. */
export const SLUG_PATTERN = /^[a-z2-7]{16}$/;

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

/** RFC 4648 base32, lower case, no padding. */
export function base32(bytes: Uint8Array): string {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(buffer << (5 - bits)) & 31];
  return out;
}

/** `slug = base32(SHA-256("oh-user:" + sub))[0..16]`, the sub taken as UTF-8. */
export function userSlug(sub: string): string {
  return base32(createHash("sha256").update(`${SLUG_HASH_PREFIX}${sub}`, "utf8").digest()).slice(0, SLUG_LENGTH);
}

export function isUserSlug(value: unknown): value is string {
  return typeof value === "string" && SLUG_PATTERN.test(value);
}
