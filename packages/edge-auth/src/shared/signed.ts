// Small HMAC-signed values (login cookie, runtime tickets, runtime cookies): base64url(JSON) "." base64url(HMAC).
// The purpose is part of the MAC, so a value minted for one use never verifies as another.
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** Longest signed value we accept; longer input is refused before any parsing. */
export const MAX_SIGNED_VALUE_LENGTH = 3072;

export function randomToken(bytes: number): string {
  return randomBytes(bytes).toString("base64url");
}

export function sha256Base64url(text: string): string {
  return createHash("sha256").update(text).digest("base64url");
}

export function hmacBase64url(key: Buffer, text: string): string {
  return createHmac("sha256", key).update(text).digest("base64url");
}

/** Constant-time comparison of two strings (false when the lengths differ). */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

export function seal(key: Buffer, purpose: string, payload: object): string {
  const body = Buffer.from(JSON.stringify(payload)).toString("base64url");
  return `${body}.${hmacBase64url(key, `${purpose}\n${body}`)}`;
}

/** The payload when the value carries a valid MAC for this purpose, otherwise undefined (never throws). */
export function unseal(
  key: Buffer,
  purpose: string,
  value: string | undefined,
  maxLength = MAX_SIGNED_VALUE_LENGTH,
): Record<string, unknown> | undefined {
  if (!value || value.length > maxLength) return undefined;
  const dot = value.indexOf(".");
  if (dot <= 0 || dot !== value.lastIndexOf(".")) return undefined;
  const body = value.slice(0, dot);
  // Tampered or truncated values: the MAC over the exact body must match.
  if (!safeEqual(value.slice(dot + 1), hmacBase64url(key, `${purpose}\n${body}`))) return undefined;
  try {
    const payload: unknown = JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
    return typeof payload === "object" && payload !== null && !Array.isArray(payload) ? (payload as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
