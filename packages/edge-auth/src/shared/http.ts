// CloudFront request/response helpers: header access and the responses the viewer-request function generates.
import type { CloudFrontHeaders, CloudFrontRequest, CloudFrontResultResponse } from "aws-lambda";

export function header(headers: CloudFrontHeaders, name: string): string | undefined {
  return headers[name]?.[0]?.value;
}

/** Request methods that may change state (CSRF applies). */
export function isStateChanging(method: string): boolean {
  return !["GET", "HEAD", "OPTIONS"].includes(method.toUpperCase());
}

export function isWebSocketUpgrade(request: CloudFrontRequest): boolean {
  return (header(request.headers, "upgrade") ?? "").toLowerCase() === "websocket" || request.headers["sec-websocket-key"] !== undefined;
}

/** A top-level page load: safe to answer with a redirect. Anything else (XHR, fetch, WebSocket, POST) gets JSON. */
export function isNavigation(request: CloudFrontRequest): boolean {
  if (!["GET", "HEAD"].includes(request.method.toUpperCase()) || isWebSocketUpgrade(request)) return false;
  const mode = header(request.headers, "sec-fetch-mode");
  if (mode !== undefined) return mode === "navigate";
  return (header(request.headers, "accept") ?? "").includes("text/html");
}

/** Headers on every response the edge generates itself. */
const GENERATED_RESPONSE_HEADERS: Record<string, string> = {
  "Cache-Control": "no-store",
  "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
};

function response(
  status: number,
  description: string,
  headers: Record<string, string>,
  setCookies: readonly string[],
  body?: string,
): CloudFrontResultResponse {
  const out: CloudFrontHeaders = {};
  for (const [key, value] of Object.entries({ ...GENERATED_RESPONSE_HEADERS, ...headers })) out[key.toLowerCase()] = [{ key, value }];
  if (setCookies.length) out["set-cookie"] = setCookies.map((value) => ({ key: "Set-Cookie", value }));
  return body === undefined
    ? { status: String(status), statusDescription: description, headers: out }
    : { status: String(status), statusDescription: description, headers: out, body };
}

export function redirect(location: string, setCookies: readonly string[] = []): CloudFrontResultResponse {
  return response(302, "Found", { Location: location }, setCookies);
}

export function json(
  status: number,
  body: object,
  setCookies: readonly string[] = [],
  headers: Record<string, string> = {},
): CloudFrontResultResponse {
  return response(
    status,
    STATUS_TEXT[status] ?? "Error",
    { "Content-Type": "application/json", ...headers },
    setCookies,
    JSON.stringify(body),
  );
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A small HTML page; every interpolated value is escaped. */
export function page(
  status: number,
  title: string,
  message: string,
  setCookies: readonly string[] = [],
  link?: { href: string; text: string },
): CloudFrontResultResponse {
  const action = link ? `<p><a href="${escapeHtml(link.href)}">${escapeHtml(link.text)}</a></p>` : "";
  const body = `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>body{font-family:system-ui,sans-serif;max-width:40em;margin:4em auto;padding:0 1em}</style></head><body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>${action}</body></html>`;
  return response(status, STATUS_TEXT[status] ?? "Error", { "Content-Type": "text/html; charset=utf-8" }, setCookies, body);
}

/** A JSON answer for API callers, a page for browsers. */
export function refuse(
  request: CloudFrontRequest,
  status: number,
  error: string,
  message: string,
  setCookies: readonly string[] = [],
): CloudFrontResultResponse {
  return isNavigation(request)
    ? page(status, STATUS_TEXT[status] ?? "Error", message, setCookies)
    : json(status, { error, message }, setCookies);
}

/** A page asking the user to confirm with a same-origin POST (a button): what another site cannot trigger for them. */
export function confirmPage(status: number, title: string, message: string, action: string, button: string): CloudFrontResultResponse {
  const body = `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>body{font-family:system-ui,sans-serif;max-width:40em;margin:4em auto;padding:0 1em}</style></head><body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p><form method="post" action="${escapeHtml(action)}"><button type="submit">${escapeHtml(button)}</button></form></body></html>`;
  // No form-action: the POST's answer redirects to the provider's logout, and form-action also governs redirects.
  const csp = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'";
  return response(
    status,
    STATUS_TEXT[status] ?? "Error",
    { "Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": csp },
    [],
    body,
  );
}

const STATUS_TEXT: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
};
