/** The edge's side of the identity contract (docs/CONTRACTS.md), written with node:crypto. */
import { createHash, createHmac, randomBytes } from "node:crypto";

export interface User {
  sub: string;
  slug: string;
  email: string;
}

/** base32 (RFC 4648, lower case, no padding) of SHA-256("oh-user:" + sub), first 16 characters. */
export function slugOf(sub: string): string {
  const digest = createHash("sha256").update(`oh-user:${sub}`).digest();
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of digest) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < 16) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out.slice(0, 16);
}

export function makeUser(sub: string, email: string): User {
  return { sub, slug: slugOf(sub), email };
}

export function newKey(): Buffer {
  return randomBytes(32);
}

export function signature(key: Buffer, host: string, user: User, exp: number): string {
  return createHmac("sha256", key).update(`v1\n${host}\n${user.sub}\n${user.slug}\n${user.email}\n${exp}`).digest("base64url");
}

/** The headers the edge adds for `user` on `host`, valid for 60 s unless `exp` says otherwise. */
export function identityHeaders(key: Buffer, host: string, user: User, exp = Math.floor(Date.now() / 1000) + 60): Record<string, string> {
  return {
    "x-oh-user": user.sub,
    "x-oh-user-slug": user.slug,
    "x-oh-email": user.email,
    "x-oh-exp": String(exp),
    "x-oh-sig": signature(key, host, user, exp),
  };
}
