// Everything on the app host that is not an /_auth/* route: signed-in requests go on to the origin with the signed identity.
import type { CloudFrontRequest, CloudFrontResultResponse } from "aws-lambda";
import { stripOurCookies } from "../shared/cookies";
import { header, isStateChanging, isWebSocketUpgrade, json } from "../shared/http";
import { addIdentityHeaders } from "../shared/identity";
import { safeReturnPath } from "../shared/return-path";
import type { GateContext, ViewerRequestResult } from "./context";
import { unauthenticated } from "./login";
import { pathWithQuery, readSession } from "./session";

/** A 403 unless a state-changing request or WebSocket upgrade comes from the app's own origin; undefined lets it through. */
export function appCrossOriginRefusal(gate: GateContext, request: CloudFrontRequest): CloudFrontResultResponse | undefined {
  // CSRF (and cross-site WebSocket hijacking), including from sandbox pages on same-site runtime hosts:
  // state-changing requests and upgrades must come from the app's own origin.
  if (isStateChanging(request.method) || isWebSocketUpgrade(request)) {
    const origin = header(request.headers, "origin");
    const fetchSite = header(request.headers, "sec-fetch-site");
    const sameOrigin = origin !== undefined ? origin === gate.appOrigin : fetchSite === "same-origin";
    if (!sameOrigin) return json(403, { error: "cross_origin", message: "This request did not come from the app." });
  }
  return undefined;
}

export async function appPassThrough(
  gate: GateContext,
  request: CloudFrontRequest,
  cookies: Map<string, string>,
): Promise<ViewerRequestResult> {
  const session = await readSession(gate, cookies);
  if (!session.ok) return unauthenticated(gate, request, session, safeReturnPath(pathWithQuery(request), gate.appOrigin));
  // Our tokens never reach the origin (the app has no use for them, and they must not leak into logs or sandboxes).
  stripOurCookies(request.headers);
  addIdentityHeaders(request.headers, gate.secrets.identitySigningKey, gate.config.appHost, session.identity, gate.now());
  return request;
}
