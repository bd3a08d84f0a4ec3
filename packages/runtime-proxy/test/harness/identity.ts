/** The edge's side of the identity contract (docs/CONTRACTS.md), from @openhands-team/contracts: the proxy is tested against it. */
import { randomBytes } from "node:crypto";
import { IDENTITY_LIFETIME_SECONDS, identitySignature, userSlug, type SignedIdentity } from "@openhands-team/contracts";

export type User = SignedIdentity;

export function makeUser(sub: string, email: string): User {
  return { sub, slug: userSlug(sub), email };
}

export function newKey(): Buffer {
  return randomBytes(32);
}

export function signature(key: Buffer, host: string, user: User, exp: number): string {
  return identitySignature(key, host, user, exp);
}

/** The headers the edge adds for `user` on `host`, valid for 60 s unless `exp` says otherwise. */
export function identityHeaders(
  key: Buffer,
  host: string,
  user: User,
  exp = Math.floor(Date.now() / 1000) + IDENTITY_LIFETIME_SECONDS,
): Record<string, string> {
  return {
    "x-oh-user": user.sub,
    "x-oh-user-slug": user.slug,
    "x-oh-email": user.email,
    "x-oh-exp": String(exp),
    "x-oh-sig": signature(key, host, user, exp),
  };
}
