// /_auth/refresh on the app host: renews the session of this browser with its refresh token (GET navigates, POST answers JSON).
import type { CloudFrontRequest, CloudFrontResultResponse } from "aws-lambda";
import { COOKIE, ourCookie } from "../../shared/cookies";
import { json, page, redirect } from "../../shared/http";
import type { Identity } from "../../shared/identity";
import { requestTokens } from "../../shared/oidc";
import { safeReturnPath } from "../../shared/return-path";
import type { GateContext } from "../context";
import { refreshUrlFor, startLogin } from "../login";
import { clearSession, expiredSessionOwner, identityFromClaims, logRefusal, sessionCookies } from "../session";

export async function refresh(
  gate: GateContext,
  request: CloudFrontRequest,
  cookies: Map<string, string>,
): Promise<CloudFrontResultResponse> {
  const returnPath = safeReturnPath(new URLSearchParams(request.querystring).get("return"), gate.appOrigin);
  // A POST is the SPA asking in the background: it gets JSON, never a redirect.
  const api = request.method.toUpperCase() === "POST";
  const loginRequired = (extra: string[]) =>
    api ? json(401, { error: "login_required", login: refreshUrlFor(returnPath) }, extra) : startLogin(gate, returnPath, extra);
  const refreshToken = ourCookie(cookies, COOKIE.refresh);
  if (!refreshToken) return loginRequired([]);
  const current = await expiredSessionOwner(gate, cookies);
  // Refresh-token tossing: a refresh only renews a session this browser holds (genuine signature, any age), never starts one.
  if (!current) return loginRequired(clearSession());
  const result = await requestTokens(
    gate.config,
    gate.secrets,
    { grant_type: "refresh_token", refresh_token: refreshToken },
    gate.options.tokenClient,
  );
  if (!result.ok && result.kind === "unavailable") {
    return api
      ? json(503, { error: "provider_unavailable" }, [], { "Retry-After": "5" })
      : page(503, "Sign-in unavailable", "The identity provider did not answer. Try again in a moment.");
  }
  let identity: Identity | undefined;
  if (result.ok) {
    try {
      identity = identityFromClaims(await gate.verifier.verify(result.tokens.idToken));
    } catch (error) {
      logRefusal("refreshed ID token refused", { error: (error as Error).message });
    }
  } else {
    logRefusal("refresh refused by the provider", { status: result.status, error: result.error });
  }
  if (!result.ok || !identity) return loginRequired(clearSession());
  // Refresh-token tossing: a refreshed token for another user never replaces the session; who is signed in cannot change here.
  if (identity.sub !== current.sub) {
    logRefusal("refreshed ID token is for another user", {});
    return loginRequired(clearSession());
  }
  const setCookies = sessionCookies(gate, result.tokens.idToken, result.tokens.refreshToken);
  return api ? json(200, { ok: true }, setCookies) : redirect(`${gate.appOrigin}${returnPath}`, setCookies);
}
