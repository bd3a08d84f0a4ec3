// Cookie names, parsing of the viewer's Cookie headers and the Set-Cookie values we send.
import type { CloudFrontHeaders } from "aws-lambda";

export const COOKIE = {
  /** The verified ID token. */
  session: "__Host-oh-session",
  /**
   * Refresh token. `__Host-` (host-only, Path=/): no same-site page can plant one (a `Domain=<apex>` cookie of this name is
   * refused by the browser). It reaches every path of the app host, but only the refresh path reads it, and no origin sees it.
   */
  refresh: "__Host-oh-refresh",
  /** Login in progress: nonce, PKCE verifier, time, hash of the return path (signed with the nonce key), "~", the deflated path. */
  login: "__Host-oh-login",
  /** Login in progress: the rest of a deflated return path too long for the login cookie. */
  loginMore: "__Host-oh-login-path",
  /** Runtime host: access to this one host for one user (signed with the ticket key). */
  runtime: "__Host-oh-runtime",
  /** Runtime host: binds a ticket to the browser that asked for it. */
  runtimeState: "__Host-oh-rt-state",
  /** App host: the runtime hosts this browser was handed to, so that logout can sign out of each (signed with the nonce key). */
  runtimes: "__Host-oh-runtimes",
} as const;

/** The names we read. Any other name in our families (such as the former `__Secure-oh-refresh`) is cleared, never read. */
const OUR_NAMES: ReadonlySet<string> = new Set(Object.values(COOKIE));

export const REFRESH_PATH = "/_auth/refresh";

/** A single cookie of ours longer than this is ignored (a real one is at most a few KB). */
export const MAX_COOKIE_VALUE_LENGTH = 4096;
/** Cookie headers longer than this (all together) are refused with 431. */
export const MAX_COOKIE_HEADER_LENGTH = 16384;
/** Set-Cookie text the edge adds to clear hostile cookies in one answer (Lambda@Edge generated answers stay small). */
const MAX_CLEAR_BYTES = 12 * 1024;
/** Cookie paths tried when clearing a cookie we did not set (each a prefix of the request path). */
const MAX_CLEAR_PATHS = 6;

/** Cookie name as a browser sends it, minus the optional white space of RFC 6265 (SP and HTAB only). */
function cookieName(pair: string): string | undefined {
  const eq = pair.indexOf("=");
  const name = (eq < 0 ? pair : pair.slice(0, eq)).replace(/^[ \t]+|[ \t]+$/g, "");
  return name || undefined;
}

/** Prefix spoofing: `\u2000__Host-oh-session` or `__HOST-oh-session` is not our cookie, but it is in our family (cleared, stripped). */
function inOurFamily(name: string): boolean {
  return /^__(host|secure)-oh[-_]/.test(name.trim().toLowerCase());
}

/** True for names in our families; such cookies are ours alone and never reach an origin. */
export function isOurCookie(name: string): boolean {
  return inOurFamily(name);
}

export function cookieHeaderLength(headers: CloudFrontHeaders): number {
  return (headers.cookie ?? []).reduce((sum, h) => sum + h.value.length, 0);
}

export interface RequestCookies {
  /** name -> value; our names only when they were sent exactly once. */
  readonly values: Map<string, string>;
  /** Names to clear: our names sent more than once, and strangers in our families. */
  readonly hostile: ReadonlySet<string>;
}

/**
 * Reads the Cookie headers. Cookie tossing: a same-site page can add a second cookie of one of our names (other Domain or
 * Path, browsers list both); which one is the browser's own cannot be told, so neither is used and both are cleared.
 * Values are not URL-decoded (ours are base64url); malformed pairs are skipped.
 */
export function readCookies(headers: CloudFrontHeaders): RequestCookies {
  const values = new Map<string, string>();
  const hostile = new Set<string>();
  for (const header of headers.cookie ?? []) {
    for (const pair of header.value.split(";")) {
      const eq = pair.indexOf("=");
      if (eq <= 0) continue;
      const name = cookieName(pair);
      if (!name) continue;
      let value = pair.slice(eq + 1).replace(/^[ \t]+|[ \t]+$/g, "");
      if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
      if (OUR_NAMES.has(name)) {
        if (values.has(name) || hostile.has(name)) {
          values.delete(name);
          hostile.add(name);
        } else {
          values.set(name, value);
        }
      } else if (inOurFamily(name)) {
        hostile.add(name);
      } else if (!values.has(name)) {
        values.set(name, value);
      }
    }
  }
  return { values, hostile };
}

/** name -> value (see readCookies: our names only when sent once). */
export function parseCookies(headers: CloudFrontHeaders): Map<string, string> {
  return readCookies(headers).values;
}

/** Our cookie, or undefined when it is absent or oversized. */
export function ourCookie(cookies: Map<string, string>, name: string): string | undefined {
  const value = cookies.get(name);
  // Oversized cookie: ignored rather than parsed (memory and CPU on the hot path).
  return value && value.length <= MAX_COOKIE_VALUE_LENGTH ? value : undefined;
}

/** Removes our cookies (and anything posing as one) from the request; deletes the header when nothing else is left. */
export function stripOurCookies(headers: CloudFrontHeaders): void {
  const kept: string[] = [];
  for (const header of headers.cookie ?? []) {
    for (const pair of header.value.split(";")) {
      const trimmed = pair.replace(/^[ \t]+|[ \t]+$/g, "");
      if (!trimmed) continue;
      const name = cookieName(trimmed) ?? "";
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
  return (
    `${name}=${value}; Path=${path}; Max-Age=${Math.max(0, Math.floor(options.maxAgeSeconds))}; Secure; HttpOnly; ` +
    `SameSite=${options.sameSite ?? "Lax"}`
  );
}

export function clearCookie(name: string, path = "/", sameSite: CookieOptions["sameSite"] = "Lax"): string {
  return setCookie(name, "", { maxAgeSeconds: 0, path, sameSite });
}

/** The Domain values a cookie seen on `host` can carry: the host itself and each parent with at least two labels. */
export function parentDomains(host: string): string[] {
  const labels = host.split(".");
  const domains: string[] = [];
  for (let i = 0; i + 2 <= labels.length; i += 1) domains.push(labels.slice(i).join("."));
  return domains;
}

/** The Path values a cookie sent with a request for `uri` can carry (RFC 6265 path-match), shortest first. */
export function matchingPaths(uri: string): string[] {
  const paths = ["/"];
  const path = uri.startsWith("/") ? uri.slice(0, 2048) : "/";
  for (let i = 1; i < path.length && paths.length < MAX_CLEAR_PATHS; i += 1) {
    if (path[i] === "/") paths.push(path.slice(0, i), path.slice(0, i + 1));
  }
  if (path !== "/" && !paths.includes(path)) paths.push(path);
  return [...new Set(paths)].slice(0, MAX_CLEAR_PATHS + 1);
}

/** Names we can write back in a Set-Cookie: printable ASCII (inner spaces allowed, as browsers allow them), no `;` or `=`. */
const WRITABLE_NAME = /^(?=.{1,256}$)[\x21-\x3a\x3c\x3e-\x7e](?:[\x20-\x3a\x3c\x3e-\x7e]*[\x21-\x3a\x3c\x3e-\x7e])?$/;

/**
 * Set-Cookie lines that expire `names` wherever they can live for this request: host-only and `Domain=` each parent of
 * `host`, on every path that matched `uri`. Cookies set by a same-site page (tossing, cookie bombs) are removed this way,
 * `__Host-` names too (a browser without cookie prefixes lets a sibling set them with `Domain=`; the others ignore those
 * lines). Stays within MAX_CLEAR_BYTES: names first come first, `Path=/` before deeper paths.
 */
export function clearEverywhere(names: Iterable<string>, host: string, uri: string): string[] {
  const lines: string[] = [];
  let bytes = 0;
  const wanted = [...names].filter((name) => WRITABLE_NAME.test(name));
  const domains = [undefined, ...parentDomains(host)];
  const paths = matchingPaths(uri);
  for (const path of paths) {
    for (const name of wanted) {
      for (const domain of domains) {
        const line = `${name}=; ${domain ? `Domain=${domain}; ` : ""}Path=${path}; Max-Age=0; Secure; HttpOnly; SameSite=Lax`;
        if (bytes + line.length > MAX_CLEAR_BYTES) return lines;
        lines.push(line);
        bytes += line.length;
      }
    }
  }
  return lines;
}

/** Names in an oversized Cookie header, largest first (a cookie bomb's big cookies are cleared first). */
export function cookieNamesBySize(headers: CloudFrontHeaders): string[] {
  const sizes = new Map<string, number>();
  for (const header of headers.cookie ?? []) {
    for (const pair of header.value.split(";")) {
      const name = cookieName(pair);
      if (name) sizes.set(name, (sizes.get(name) ?? 0) + pair.length);
    }
  }
  return [...sizes.entries()].sort((a, b) => b[1] - a[1]).map(([name]) => name);
}

/** Our names (sent once) are kept by a 431: they are bounded, and only we can set them. */
export function isOurName(name: string): boolean {
  return OUR_NAMES.has(name);
}
