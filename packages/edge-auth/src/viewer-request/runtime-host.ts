// Everything on a runtime host that is not an /_auth/* route: with a runtime cookie the request goes on with the signed
// identity; the few credential-less requests the proxy decides on go on unsigned; navigations start a hand-off.
import type { CloudFrontRequest } from "aws-lambda";
import { COOKIE, ourCookie, setCookie, stripOurCookies } from "../shared/cookies";
import { header, isNavigation, isWebSocketUpgrade, json, redirect } from "../shared/http";
import { addIdentityHeaders, type Identity } from "../shared/identity";
import { safeReturnPath } from "../shared/return-path";
import { sha256Base64url, unseal } from "../shared/signed";
import type { GateContext, ViewerRequestResult } from "./context";
import { RUNTIME_STATE_MAX_AGE_SECONDS, runtimeState } from "./runtime-state";
import { identityFromClaims, pathWithQuery, sameOriginOrUser } from "./session";

function readRuntimeSession(gate: GateContext, cookies: Map<string, string>, host: string, slug: string): Identity | undefined {
  const value = unseal(gate.secrets.ticketKey, "runtime", ourCookie(cookies, COOKIE.runtime));
  // Cookie minted for another host (or user), or expired: not a credential here.
  if (!value || value.h !== host || value.u !== slug || typeof value.x !== "number" || value.x < gate.now()) return undefined;
  const identity = identityFromClaims({ sub: value.s, email: value.e });
  return identity && identity.slug === slug ? identity : undefined;
}

function isAppTabProbe(gate: GateContext, request: CloudFrontRequest): boolean {
  return (
    request.method.toUpperCase() === "GET" &&
    // Unsigned pass-through abuse (a WebSocket handshake, another path or a query riding on the probe): only `GET /`.
    request.uri === "/" &&
    request.querystring === "" &&
    !isWebSocketUpgrade(request) &&
    !header(request.headers, "upgrade") &&
    header(request.headers, "origin") === gate.appOrigin &&
    !header(request.headers, "cookie")
  );
}

/** A write or WebSocket handshake may act as the user only when it comes from this runtime host itself or from the app. */
function fromThisHostOrApp(gate: GateContext, request: CloudFrontRequest, host: string): boolean {
  const origin = header(request.headers, "origin");
  if (origin !== undefined) return origin === gate.appOrigin || origin === `https://${host}`;
  return sameOriginOrUser(request);
}

export function runtimePassThrough(
  gate: GateContext,
  request: CloudFrontRequest,
  cookies: Map<string, string>,
  host: string,
  slug: string,
): ViewerRequestResult {
  const identity = readRuntimeSession(gate, cookies, host, slug);
  // Session theft by the sandbox: none of our cookies reach a runtime origin.
  stripOurCookies(request.headers);
  if (identity) {
    const writes = !["GET", "HEAD"].includes(request.method.toUpperCase()) || isWebSocketUpgrade(request);
    // Cross-site request forgery and WebSocket hijacking of a worker (from another user's runtime host or any site).
    if (writes && !fromThisHostOrApp(gate, request, host))
      return json(403, { error: "cross_origin", message: "This request did not come from this runtime host or the app." });
    addIdentityHeaders(request.headers, gate.secrets.identitySigningKey, host, identity, gate.now());
    return request;
  }
  // The agent-server API authenticates with the sandbox's session key; the proxy checks it against the spawner's hash.
  const query = new URLSearchParams(request.querystring);
  if (header(request.headers, "x-session-api-key") || query.get("session_api_key")) return request;
  // CORS preflights never carry credentials; the proxy answers them (a WebSocket handshake is never one).
  if (
    request.method.toUpperCase() === "OPTIONS" &&
    header(request.headers, "access-control-request-method") &&
    !isWebSocketUpgrade(request)
  )
    return request;
  // The App tab's liveness probe: a credential-less GET from the app's own origin. It goes on unsigned; the proxy
  // answers it with the worker's liveness only (no sandbox content), so it cannot be used to read a sandbox.
  if (isAppTabProbe(gate, request)) return request;
  if (!isNavigation(request)) {
    // WebSocket upgrades and API calls are never redirected.
    return json(401, {
      error: "runtime_login_required",
      login: `https://${host}${safeReturnPath(pathWithQuery(request), `https://${host}`)}`,
    });
  }
  const path = safeReturnPath(pathWithQuery(request), `https://${host}`);
  const state = runtimeState(path);
  // Long deep links: the path travels in the state cookie, never in the URLs of the hand-off.
  const location = `${gate.appOrigin}/_auth/runtime?host=${encodeURIComponent(host)}&n=${sha256Base64url(state)}`;
  return redirect(location, [
    setCookie(COOKIE.runtimeState, state, { maxAgeSeconds: RUNTIME_STATE_MAX_AGE_SECONDS, sameSite: gate.runtimeSameSite }),
  ]);
}
