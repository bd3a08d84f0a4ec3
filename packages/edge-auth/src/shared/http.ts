// CloudFront request/response helpers: header access and the responses the viewer-request function generates.
import { escapeHtml as escapeText, pageStyleSource, renderPage } from "@openhands-team/contracts";
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

/** The pages' one stylesheet (packages/contracts, src/pages.ts) by its hash; nothing else loads. */
const PAGE_CSP = `default-src 'none'; style-src ${pageStyleSource()}; frame-ancestors 'none'; base-uri 'none'`;

/** Headers on every response the edge generates itself. */
const GENERATED_RESPONSE_HEADERS: Record<string, string> = {
  "Cache-Control": "no-store",
  "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Content-Security-Policy": `${PAGE_CSP}; form-action 'none'`,
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

export const escapeHtml = escapeText;

/** The one next step a page offers (sign in again, back to OpenHands, open it again). */
export interface PageLink {
  href: string;
  text: string;
}

function pageBody(title: string, message: string, action: string): string {
  return renderPage({ title, main: `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>${action}` });
}

/** A page in the shared look (the runtime proxy's pages use the same); every interpolated value is escaped. */
export function page(
  status: number,
  title: string,
  message: string,
  setCookies: readonly string[] = [],
  link?: PageLink,
): CloudFrontResultResponse {
  const action = link ? `<div class="actions"><a class="button" href="${escapeHtml(link.href)}">${escapeHtml(link.text)}</a></div>` : "";
  return response(
    status,
    STATUS_TEXT[status] ?? "Error",
    { "Content-Type": "text/html; charset=utf-8" },
    setCookies,
    pageBody(title, message, action),
  );
}

/** Headings in words for the refusals a browser can meet (the JSON keeps the code). */
const REFUSAL_TITLES: Record<string, string> = {
  not_owner: "This workspace belongs to someone else",
  bad_runtime_host: "Not a workspace address",
  unknown_host: "Unknown address",
  not_found: "No such page",
  cookies_too_large: "Too many cookies",
};

/** A JSON answer for API callers, a page for browsers (with the next step, when there is one). */
export function refuse(
  request: CloudFrontRequest,
  status: number,
  error: string,
  message: string,
  setCookies: readonly string[] = [],
  link?: PageLink,
): CloudFrontResultResponse {
  return isNavigation(request)
    ? page(status, REFUSAL_TITLES[error] ?? STATUS_TEXT[status] ?? "Error", message, setCookies, link)
    : json(status, { error, message }, setCookies);
}

/** A page asking the user to confirm with a same-origin POST (a button): what another site cannot trigger for them. */
export function confirmPage(status: number, title: string, message: string, action: string, button: string): CloudFrontResultResponse {
  const form =
    `<form class="actions" method="post" action="${escapeHtml(action)}"><button class="button" ` +
    `type="submit">${escapeHtml(button)}</button></form>`;
  const body = pageBody(title, message, form);
  // No form-action: the POST's answer redirects to the provider's logout, and form-action also governs redirects.
  const csp = PAGE_CSP;
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
