import { createHash } from "node:crypto";

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

/**
 * The user key of docs/CONTRACTS.md (the same function as packages/edge-auth/src/slug.ts, which the tests compare):
 * first 16 characters of lower-case, unpadded RFC 4648 base32 of SHA-256("oh-user:" + sub). It names a person's
 * containers, database and EFS directory, so `remove` prints it for whoever cleans up their data.
 */
export function userSlug(sub: string): string {
  const bytes = createHash("sha256").update(`oh-user:${sub}`).digest();
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
    if (out.length >= 16) break;
  }
  return out.slice(0, 16);
}
