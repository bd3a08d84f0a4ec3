/**
 * The security headers of each host, sent by CloudFront response headers policies (docs/CONTRACTS.md, "CloudFront
 * and the edge functions"). CloudFront refuses origin-request and origin-response Lambda@Edge triggers on a VPC
 * origin, so no function can add them; the policies replace the values an origin sends (override).
 */

/** Two years, the HSTS max-age browsers' preload lists expect. */
export const HSTS_SECONDS = 63_072_000;

/**
 * CSP of the app host. The OpenHands SPA (React Router, Vite build) loads its own scripts and styles, talks to the
 * agent servers on runtime hosts over https and wss, and shows runtime hosts (App tab, VS Code) in iframes.
 * Nothing may frame the app.
 */
export function appContentSecurityPolicy(runtimeDomain: string): string {
  const runtimes = `https://*.${runtimeDomain}`;
  return [
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval' blob:",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob: https:",
    "font-src 'self' data:",
    `connect-src 'self' ${runtimes} wss://*.${runtimeDomain}`,
    `frame-src 'self' ${runtimes}`,
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** CSP of the runtime hosts: sandbox content may be framed by the app host (App tab, VS Code) and nothing else. */
export function runtimeContentSecurityPolicy(appHost: string): string {
  return `frame-ancestors https://${appHost}`;
}

/** CloudFront's limit on the length of a Content-Security-Policy in a response headers policy. */
export const CSP_MAX_LENGTH = 1783;
