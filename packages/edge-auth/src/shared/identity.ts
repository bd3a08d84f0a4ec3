// The signed identity that the edge adds for the runtime proxy (docs/CONTRACTS.md, "Identity from the edge to the proxy").
// The signing string and the signature are @openhands-team/contracts'; this module puts them on a CloudFront request.
import type { CloudFrontHeaders } from "aws-lambda";
import { IDENTITY_HEADER_PREFIX, IDENTITY_LIFETIME_SECONDS, identitySignature, type SignedIdentity } from "@openhands-team/contracts";

export { IDENTITY_LIFETIME_SECONDS, identitySignature };

export type Identity = SignedIdentity;

/** Deletes every x-oh-* header the client sent. Header spoofing: only the edge may speak for a user. */
export function stripIdentityHeaders(headers: CloudFrontHeaders): void {
  for (const name of Object.keys(headers)) if (name.toLowerCase().startsWith(IDENTITY_HEADER_PREFIX)) delete headers[name];
}

export function addIdentityHeaders(headers: CloudFrontHeaders, key: Buffer, host: string, identity: Identity, nowSeconds: number): void {
  const exp = nowSeconds + IDENTITY_LIFETIME_SECONDS;
  headers["x-oh-user"] = [{ key: "X-Oh-User", value: identity.sub }];
  headers["x-oh-user-slug"] = [{ key: "X-Oh-User-Slug", value: identity.slug }];
  headers["x-oh-email"] = [{ key: "X-Oh-Email", value: identity.email }];
  headers["x-oh-exp"] = [{ key: "X-Oh-Exp", value: String(exp) }];
  headers["x-oh-sig"] = [{ key: "X-Oh-Sig", value: identitySignature(key, host, identity, exp) }];
}

/** Claims become header values and lines of the signed text: refuse anything that could break either. */
export function isSafeClaim(value: unknown, maxLength: number): value is string {
  return typeof value === "string" && value.length <= maxLength && /^[\x21-\x7e]*$/.test(value);
}
