// Security headers per host kind, added to every origin response.
import type { CloudFrontHeaders } from "aws-lambda";
import type { EdgeConfig } from "../shared/config";
import type { HostKind } from "../shared/hosts";

const HSTS = "max-age=63072000; includeSubDomains";

/**
 * CSP of the app host. The OpenHands SPA (React Router, Vite build) loads its own scripts and styles, talks to the agent
 * servers on runtime hosts over https and wss, and shows runtime hosts (App tab, VS Code) in iframes. Nothing may frame the app.
 */
export function appContentSecurityPolicy(config: Pick<EdgeConfig, "runtimeDomain">): string {
  const runtimes = `https://*.${config.runtimeDomain}`;
  return [
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval' blob:",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob: https:",
    "font-src 'self' data:",
    `connect-src 'self' ${runtimes} wss://*.${config.runtimeDomain}`,
    `frame-src 'self' ${runtimes}`,
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

function set(headers: CloudFrontHeaders, key: string, value: string): void {
  headers[key.toLowerCase()] = [{ key, value }];
}

export function applySecurityHeaders(
  headers: CloudFrontHeaders,
  host: HostKind,
  config: Pick<EdgeConfig, "appHost" | "runtimeDomain"> | undefined,
): void {
  set(headers, "Strict-Transport-Security", HSTS);
  set(headers, "X-Content-Type-Options", "nosniff");
  if (host.kind === "app" && config) {
    set(headers, "Content-Security-Policy", appContentSecurityPolicy(config));
    set(headers, "X-Frame-Options", "DENY");
    set(headers, "Referrer-Policy", "same-origin");
    return;
  }
  // Runtime hosts and anything else: no referrer (VS Code URLs carry a key in the query).
  set(headers, "Referrer-Policy", "no-referrer");
  if (host.kind === "runtime" && config) {
    // Sandbox content may be framed by the app (App tab, VS Code) and by nothing else (clickjacking, fake login pages).
    set(headers, "Content-Security-Policy", `frame-ancestors https://${config.appHost}`);
    stripCookieDomains(headers);
  } else {
    set(headers, "Content-Security-Policy", "frame-ancestors 'none'");
  }
}

/**
 * Cookie tossing from a sandbox server: no Set-Cookie of a runtime origin may reach the parent domain (Domain=) or use our names.
 */
function stripCookieDomains(headers: CloudFrontHeaders): void {
  const cookies = headers["set-cookie"];
  if (!cookies) return;
  const kept = cookies
    // A nameless cookie (`=__Host-oh-session=x`) is sent back as `__Host-oh-session=x` by browsers that accept it.
    .filter((c) => !/^[\s=]*__(host|secure)-oh[-_]/i.test(c.value))
    .map((c) => ({
      key: "Set-Cookie",
      value: c.value
        .split(";")
        .filter((part) => !/^\s*domain\s*=/i.test(part))
        .join(";"),
    }));
  if (kept.length) headers["set-cookie"] = kept;
  else delete headers["set-cookie"];
}
