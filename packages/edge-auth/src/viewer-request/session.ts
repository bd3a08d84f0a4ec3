// The app host's session: reading the session cookie, setting and clearing the session and login cookies, and the
// small request helpers the routes share.
import type { CloudFrontRequest } from "aws-lambda";
import { JwtExpiredError } from "aws-jwt-verify/error";
import { COOKIE, clearCookie, ourCookie, setCookie } from "../shared/cookies";
import { classifyHost } from "../shared/hosts";
import { header } from "../shared/http";
import { isSafeClaim, type Identity } from "../shared/identity";
import { unseal } from "../shared/signed";
import { userSlug } from "../slug";
import type { GateContext } from "./context";

/** Runtime hosts remembered for logout; older ones fall off (their cookies still expire after RUNTIME_SESSION_SECONDS). */
export const MAX_REMEMBERED_RUNTIME_HOSTS = 24;

export type Session = { ok: true; identity: Identity } | { ok: false; reason: "none" | "expired" | "invalid" };

export function identityFromClaims(claims: { sub: unknown; email?: unknown }): Identity | undefined {
  // Claims become header values and lines of the signed text: a newline in them could forge another identity's signature.
  if (!isSafeClaim(claims.sub, 128) || claims.sub.length === 0) return undefined;
  const email = isSafeClaim(claims.email, 254) ? claims.email : "";
  return { sub: claims.sub, slug: userSlug(claims.sub), email };
}

/** One JSON line per refused login or refresh, for CloudWatch; never a token or a key. */
export function logRefusal(what: string, detail: Record<string, unknown>): void {
  console.warn(JSON.stringify({ level: "warn", message: what, ...detail }));
}

export function pathWithQuery(request: CloudFrontRequest): string {
  return request.querystring ? `${request.uri}?${request.querystring}` : request.uri;
}

/** No Origin: only a request the browser marks as from this origin or typed by the user. */
export function sameOriginOrUser(request: CloudFrontRequest): boolean {
  const site = header(request.headers, "sec-fetch-site");
  return site === "same-origin" || site === "none";
}

export function sessionCookies(gate: GateContext, idToken: string, refreshToken?: string): string[] {
  const cookies = [setCookie(COOKIE.session, idToken, { maxAgeSeconds: gate.config.sessionMaxAgeSeconds })];
  if (refreshToken)
    cookies.push(setCookie(COOKIE.refresh, refreshToken, { maxAgeSeconds: gate.config.sessionMaxAgeSeconds, sameSite: "Strict" }));
  return cookies;
}

export const clearLogin = (): string[] => [clearCookie(COOKIE.login), clearCookie(COOKIE.loginMore)];
export const clearSession = (): string[] => [clearCookie(COOKIE.session), clearCookie(COOKIE.refresh, "/", "Strict"), ...clearLogin()];

export async function readSession(gate: GateContext, cookies: Map<string, string>): Promise<Session> {
  const token = ourCookie(cookies, COOKIE.session);
  if (!token) return { ok: false, reason: "none" };
  try {
    const identity = identityFromClaims(await gate.verifier.verify(token));
    return identity ? { ok: true, identity } : { ok: false, reason: "invalid" };
  } catch (error) {
    // Only a token that is genuine apart from its age may be refreshed; forged, foreign or confused tokens mean "log in".
    return { ok: false, reason: error instanceof JwtExpiredError ? "expired" : "invalid" };
  }
}

/** Who the session cookie belongs to, its expiry ignored (up to the cookie's own lifetime); undefined unless it is genuine. */
export async function expiredSessionOwner(gate: GateContext, cookies: Map<string, string>): Promise<Identity | undefined> {
  const token = ourCookie(cookies, COOKIE.session);
  if (!token) return undefined;
  try {
    return identityFromClaims(await gate.verifier.verifyIgnoringExpiry(token, gate.config.sessionMaxAgeSeconds));
  } catch {
    return undefined;
  }
}

export function rememberedRuntimeHosts(gate: GateContext, cookies: Map<string, string>): string[] {
  const value = unseal(gate.secrets.nonceKey, "runtimes", ourCookie(cookies, COOKIE.runtimes));
  const hosts: unknown[] = Array.isArray(value?.h) ? (value.h as unknown[]) : [];
  // Open redirect: only names that still parse as our runtime hosts can become logout hops.
  return hosts
    .filter((h): h is string => typeof h === "string" && classifyHost(h, gate.config).kind === "runtime")
    .slice(0, MAX_REMEMBERED_RUNTIME_HOSTS);
}
