/**
 * The signed access tokens the app hands to sandboxes for `GET /api/v1/webhooks/secrets` (X-Access-Token,
 * a JWS signed with JWT_SECRET; `app_server/services/jwt_service.py`, LSC L941-955). HS256 compact form.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

function encode(value: unknown): string {
  return Buffer.from(JSON.stringify(value), "utf8").toString("base64url");
}

export function signToken(secret: string, payload: Record<string, unknown>): string {
  const head = `${encode({ alg: "HS256", typ: "JWT" })}.${encode(payload)}`;
  return `${head}.${createHmac("sha256", secret).update(head).digest("base64url")}`;
}

/** The payload of a token signed with `secret`, or undefined (forged, truncated or expired). */
export function verifyToken(secret: string, token: string | undefined): Record<string, unknown> | undefined {
  if (!token) return undefined;
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  const [header, payload, signature] = parts as [string, string, string];
  const expected = createHmac("sha256", secret).update(`${header}.${payload}`).digest();
  const given = Buffer.from(signature, "base64url");
  // A token signed with another key (another user's app, say) must not pass: constant-time compare.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  try {
    const decoded = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Record<string, unknown>;
    if (typeof decoded.exp === "number" && decoded.exp * 1000 < Date.now()) return undefined;
    return decoded;
  } catch {
    return undefined;
  }
}
