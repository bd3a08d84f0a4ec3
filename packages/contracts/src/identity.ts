// The signed identity from the edge to the proxy (docs/CONTRACTS.md, "Identity from the edge to the proxy").
import { createHmac } from "node:crypto";

/** The headers in the order the edge adds them; the edge deletes every client-sent `x-oh-*` header first. */
export const IDENTITY_HEADERS = ["x-oh-user", "x-oh-user-slug", "x-oh-email", "x-oh-exp", "x-oh-sig"] as const;
export type IdentityHeader = (typeof IDENTITY_HEADERS)[number];
/** Every header with this prefix is the edge's to set. */
export const IDENTITY_HEADER_PREFIX = "x-oh-";
/** How far ahead of the signing time `x-oh-exp` lies. */
export const IDENTITY_LIFETIME_SECONDS = 60;

export interface SignedIdentity {
  readonly sub: string;
  readonly slug: string;
  readonly email: string;
}

/** `"v1\n" + host + "\n" + sub + "\n" + slug + "\n" + email + "\n" + exp`; `host` is the viewer's Host, lower case, no port. */
export function identitySigningText(host: string, identity: SignedIdentity, exp: number): string {
  return `v1\n${host}\n${identity.sub}\n${identity.slug}\n${identity.email}\n${exp}`;
}

/** `x-oh-sig`: base64url (no padding) of HMAC-SHA256 over the signing text, with the 32-byte identity-signing key. */
export function identitySignature(key: Uint8Array, host: string, identity: SignedIdentity, exp: number): string {
  return createHmac("sha256", key)
    .update(identitySigningText(host, identity, exp))
    .digest("base64url");
}
