import { createHash } from "node:crypto";

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

/** RFC 4648 base32, lower case, no padding. */
export function base32(bytes: Uint8Array): string {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(buffer << (5 - bits)) & 31];
  return out;
}

// A pure function of `sub`, asked on every authenticated request: the last few thousand answers are kept (a hash costs a
// warm request about 6 %). Emptied when full, so its size stays bounded whatever subs arrive.
const SLUG_CACHE_SIZE = 4096;
const slugs = new Map<string, string>();

/** The user key of DESIGN.md: first 16 base32 characters of SHA-256("oh-user:" + sub); DNS-safe, 80 bits. */
export function userSlug(sub: string): string {
  let slug = slugs.get(sub);
  if (slug === undefined) {
    slug = base32(createHash("sha256").update(`oh-user:${sub}`).digest()).slice(0, 16);
    if (slugs.size >= SLUG_CACHE_SIZE) slugs.clear();
    slugs.set(sub, slug);
  }
  return slug;
}
