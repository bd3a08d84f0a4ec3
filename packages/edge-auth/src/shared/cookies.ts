// Cookie names, parsing of the viewer's Cookie headers and the Set-Cookie values we send.
import type { CloudFrontHeaders } from "aws-lambda";

export const COOKIE = {
  /** The verified ID token. */
  session: "__Host-oh-session",
  /** Refresh token; only ever sent to the refresh path. */
  refresh: "__Secure-oh-refresh",
  /** Login in progress: nonce, PKCE verifier, time (signed with the nonce key). */
  login: "__Host-oh-login",
  /** Runtime host: access to this one host for one user (signed with the ticket key). */
  runtime: "__Host-oh-runtime",
  /** Runtime host: binds a ticket to the browser that asked for it. */
  runtimeState: "__Host-oh-rt-state",
  /** App host: the runtime hosts this browser was handed to, so that logout can sign out of each (signed with the nonce key). */
  runtimes: "__Host-oh-runtimes",
} as const;

export const REFRESH_PATH = "/_auth/refresh";

/** A single cookie of ours longer than this is ignored (a real one is at most a few KB). */
export const MAX_COOKIE_VALUE_LENGTH = 4096;
/** Cookie headers longer than this (all together) are refused with 431. */
export const MAX_COOKIE_HEADER_LENGTH = 16384;

/** True for names in our families; such cookies are ours alone and never reach an origin. */
export function isOurCookie(name: string): boolean {
  return /^__(Host|Secure)-oh-/i.test(name);
}

export function cookieHeaderLength(headers: CloudFrontHeaders): number {
  return (headers.cookie ?? []).reduce((sum, h) => sum + h.value.length, 0);
}

/** name -> first value. Malformed pairs are skipped; values are not URL-decoded (ours are base64url). */
export function parseCookies(headers: CloudFrontHeaders): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const header of headers.cookie ?? []) {
    for (const pair of header.value.split(";")) {
      const eq = pair.indexOf("=");
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      let value = pair.slice(eq + 1).trim();
      if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
      if (!name || cookies.has(name)) continue;
      cookies.set(name, value);
    }
  }
  return cookies;
}

/** Our cookie, or undefined when it is absent or oversized. */
export function ourCookie(cookies: Map<string, string>, name: string): string | undefined {
  const value = cookies.get(name);
  // Oversized cookie: ignored rather than parsed (memory and CPU on the hot path).
  return value && value.length <= MAX_COOKIE_VALUE_LENGTH ? value : undefined;
}

/** Removes our cookies from the request; deletes the header when nothing else is left. */
export function stripOurCookies(headers: CloudFrontHeaders): void {
  const kept: string[] = [];
  for (const header of headers.cookie ?? []) {
    for (const pair of header.value.split(";")) {
      const trimmed = pair.trim();
      if (!trimmed) continue;
      const eq = trimmed.indexOf("=");
      const name = (eq < 0 ? trimmed : trimmed.slice(0, eq)).trim();
      if (!isOurCookie(name)) kept.push(trimmed);
    }
  }
  if (kept.length) headers.cookie = [{ key: "Cookie", value: kept.join("; ") }];
  else delete headers.cookie;
}

export interface CookieOptions {
  readonly maxAgeSeconds: number;
  readonly path?: string;
  /** `Lax` unless given; `None` for cookies that must work inside the app's iframes. */
  readonly sameSite?: "Strict" | "Lax" | "None";
}

/** Host-only (never a Domain attribute), Secure, HttpOnly. */
export function setCookie(name: string, value: string, options: CookieOptions): string {
  const path = options.path ?? "/";
  return `${name}=${value}; Path=${path}; Max-Age=${Math.max(0, Math.floor(options.maxAgeSeconds))}; Secure; HttpOnly; SameSite=${options.sameSite ?? "Lax"}`;
}

export function clearCookie(name: string, path = "/", sameSite: CookieOptions["sameSite"] = "Lax"): string {
  return setCookie(name, "", { maxAgeSeconds: 0, path, sameSite });
}
