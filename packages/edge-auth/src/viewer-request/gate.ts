// The viewer-request decision for one request: answer it at the edge (login, refresh, logout, runtime hand-off, refusals)
// or pass it on to the origin with the signed identity. This module is the router; each /_auth/* route is a module of
// ./routes, the pass-through of each kind of host is app-host.ts / runtime-host.ts.
import type { CloudFrontRequest, CloudFrontResultResponse } from "aws-lambda";
import type { EdgeConfig, EdgeSecrets } from "../shared/config";
import {
  MAX_COOKIE_HEADER_LENGTH,
  REFRESH_PATH,
  clearEverywhere,
  cookieHeaderLength,
  cookieNamesBySize,
  isOurName,
  readCookies,
} from "../shared/cookies";
import { classifyHost } from "../shared/hosts";
import { header, json, refuse } from "../shared/http";
import { stripIdentityHeaders } from "../shared/identity";
import { appCrossOriginRefusal, appPassThrough } from "./app-host";
import { createContext, type GateContext, type GateOptions, type ViewerRequestResult } from "./context";
import { callback } from "./routes/callback";
import { logout } from "./routes/logout";
import { refresh } from "./routes/refresh";
import { runtimeTicket } from "./routes/runtime";
import { runtimeCallback } from "./routes/runtime-callback";
import { runtimeLogout } from "./routes/runtime-logout";
import { runtimePassThrough } from "./runtime-host";

export { runtimeIsSameSite, type GateOptions, type ViewerRequestResult } from "./context";
export { LOGIN_MAX_AGE_SECONDS } from "./login";
export { MAX_REMEMBERED_RUNTIME_HOSTS } from "./session";
export { TICKET_LIFETIME_SECONDS } from "./routes/runtime";
export { RUNTIME_SESSION_SECONDS } from "./routes/runtime-callback";

type AppRoute = (
  gate: GateContext,
  request: CloudFrontRequest,
  cookies: Map<string, string>,
) => Promise<CloudFrontResultResponse> | CloudFrontResultResponse;
type RuntimeRoute = (
  gate: GateContext,
  request: CloudFrontRequest,
  cookies: Map<string, string>,
  host: string,
  slug: string,
) => CloudFrontResultResponse;

/** The app host's routes (docs/CONTRACTS.md, "Edge paths"); a Map, so that no path can reach an inherited property. */
const APP_ROUTES = new Map<string, AppRoute>([
  ["/_auth/callback", callback],
  [REFRESH_PATH, refresh],
  ["/_auth/logout", logout],
  ["/_auth/runtime", runtimeTicket],
]);

/** A runtime host's own routes; every other path of a runtime host belongs to the sandbox. */
const RUNTIME_ROUTES = new Map<string, RuntimeRoute>([
  ["/_auth/runtime-callback", runtimeCallback],
  ["/_auth/runtime-logout", runtimeLogout],
]);

async function appHost(gate: GateContext, request: CloudFrontRequest, cookies: Map<string, string>): Promise<ViewerRequestResult> {
  const refusal = appCrossOriginRefusal(gate, request);
  if (refusal) return refusal;
  const route = APP_ROUTES.get(request.uri);
  if (route) return route(gate, request, cookies);
  if (request.uri.startsWith("/_auth/")) return refuse(request, 404, "not_found", "No such page.");
  return appPassThrough(gate, request, cookies);
}

function runtimeHost(
  gate: GateContext,
  request: CloudFrontRequest,
  cookies: Map<string, string>,
  host: string,
  slug: string,
): ViewerRequestResult {
  const route = RUNTIME_ROUTES.get(request.uri);
  if (route) return route(gate, request, cookies, host, slug);
  return runtimePassThrough(gate, request, cookies, host, slug);
}

/** Adds `clears` before the answer's own cookies (so that what the answer sets wins). */
function withClears(result: ViewerRequestResult, clears: readonly string[]): ViewerRequestResult {
  if (!clears.length || !("status" in result)) return result;
  const own = result.headers?.["set-cookie"] ?? [];
  result.headers = { ...result.headers, "set-cookie": [...clears.map((value) => ({ key: "Set-Cookie", value })), ...own] };
  return result;
}

export function createGate(
  config: EdgeConfig,
  secrets: EdgeSecrets,
  options: GateOptions = {},
): (request: CloudFrontRequest) => Promise<ViewerRequestResult> {
  const gate = createContext(config, secrets, options);
  return async (request) => {
    // Header spoofing: whatever the client sent as x-oh-* is gone before anything else looks at the request.
    stripIdentityHeaders(request.headers);
    // Method folding ("OPTıONſ" upper-cases to OPTIONS, and would ride the preflight pass): ASCII letters only.
    if (!/^[A-Za-z]{1,16}$/.test(request.method)) return json(405, { error: "bad_method", message: "Unsupported request method." });
    const host = classifyHost(header(request.headers, "host"), config);
    // Cookie-bomb lock-out (a same-site page floods Domain= cookies): the 431 expires them (host-only and Domain=) to recover.
    if (cookieHeaderLength(request.headers) > MAX_COOKIE_HEADER_LENGTH) {
      const { hostile } = readCookies(request.headers);
      const names = cookieNamesBySize(request.headers).filter((name) => !isOurName(name) || hostile.has(name));
      const clears = host.kind === "unknown" ? [] : clearEverywhere(names, host.host, request.uri);
      return refuse(
        request,
        431,
        "cookies_too_large",
        "This site's cookies were too many or too large and have been cleared; reload the page.",
        clears,
      );
    }
    if (host.kind === "unknown") {
      // Anything else on our domains (or a forged Host) is refused.
      return refuse(request, 404, "unknown_host", "Unknown host.");
    }
    const { values: cookies, hostile } = readCookies(request.headers);
    // Cookie tossing: duplicates of our names and strangers in our families are never read, and every answer we give expires them.
    const clears = hostile.size ? clearEverywhere(hostile, host.host, request.uri) : [];
    const result = host.kind === "app" ? await appHost(gate, request, cookies) : runtimeHost(gate, request, cookies, host.host, host.slug);
    return withClears(result, clears);
  };
}
