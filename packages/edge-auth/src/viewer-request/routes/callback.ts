// GET /_auth/callback on the app host: the identity provider's answer to a login this browser started.
import type { CloudFrontRequest, CloudFrontResultResponse } from "aws-lambda";
import { COOKIE, ourCookie } from "../../shared/cookies";
import { page, redirect } from "../../shared/http";
import type { Identity } from "../../shared/identity";
import { requestTokens } from "../../shared/oidc";
import { unpackPath } from "../../shared/packed-path";
import { safeReturnPath } from "../../shared/return-path";
import { safeEqual, sha256Base64url, unseal } from "../../shared/signed";
import type { GateContext } from "../context";
import { LOGIN_MAX_AGE_SECONDS, badLogin } from "../login";
import { clearLogin, identityFromClaims, logRefusal, sessionCookies } from "../session";

export async function callback(
  gate: GateContext,
  request: CloudFrontRequest,
  cookies: Map<string, string>,
): Promise<CloudFrontResultResponse> {
  const { config, secrets, appOrigin, now } = gate;
  const query = new URLSearchParams(request.querystring);
  const providerError = query.get("error");
  if (providerError !== null) return badLogin(gate, `The identity provider answered: ${providerError.slice(0, 200)}`);
  const code = query.get("code");
  const stateParam = query.get("state");
  if (!code || !stateParam || code.length > 2048 || stateParam.length > 2048) return badLogin(gate, "The sign-in answer is incomplete.");
  const [sealed, head = ""] = (ourCookie(cookies, COOKIE.login) ?? "").split("~", 2);
  const login = unseal(secrets.nonceKey, "login", sealed);
  // Login CSRF / fixation: a callback without our signed login cookie (or one made for another host) was not started here.
  if (!login || typeof login.n !== "string" || typeof login.v !== "string" || typeof login.t !== "number" || login.h !== config.appHost) {
    return badLogin(gate, "No sign-in was in progress in this browser.");
  }
  // Expired nonce: a login must finish within LOGIN_MAX_AGE_SECONDS.
  if (now() - login.t > LOGIN_MAX_AGE_SECONDS || login.t > now() + 60) return badLogin(gate, "The sign-in took too long.");
  let state: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(Buffer.from(stateParam, "base64url").toString("utf8"));
    if (typeof parsed === "object" && parsed !== null) state = parsed as Record<string, unknown>;
  } catch {
    // refused below
  }
  // State mismatch: the answer must belong to the login this browser started (CSRF on the callback).
  if (typeof state.n !== "string" || !safeEqual(state.n, login.n)) return badLogin(gate, "The sign-in answer does not match this browser.");
  // Replayed nonce: each login is completed once.
  if (!gate.spentNonces.spend(login.n, login.t + LOGIN_MAX_AGE_SECONDS, now()))
    return badLogin(gate, "This sign-in was already completed.");
  const result = await requestTokens(
    config,
    secrets,
    { grant_type: "authorization_code", code, redirect_uri: gate.redirectUri, code_verifier: login.v },
    gate.options.tokenClient,
  );
  if (!result.ok) {
    logRefusal(
      "code exchange failed",
      result.kind === "unavailable" ? { detail: result.detail } : { status: result.status, error: result.error },
    );
    if (result.kind === "unavailable")
      return page(503, "Sign-in unavailable", "The identity provider did not answer. Try again in a moment.", clearLogin(), {
        href: `${appOrigin}/`,
        text: "Try again",
      });
    return badLogin(gate, "The identity provider refused the sign-in code.");
  }
  let identity: Identity | undefined;
  try {
    const claims = await gate.verifier.verify(result.tokens.idToken);
    // Nonce mismatch: the ID token must be the one issued for this login (token injection).
    if (claims.nonce !== sha256Base64url(login.n)) return badLogin(gate, "The identity token does not belong to this sign-in.");
    identity = identityFromClaims(claims);
  } catch (error) {
    logRefusal("ID token refused", { error: (error as Error).message });
  }
  if (!identity) return badLogin(gate, "The identity token was refused.");
  if (result.tokens.idToken.length > 4000) return badLogin(gate, "The identity token is too large for a cookie.");
  const packed = head + (ourCookie(cookies, COOKIE.loginMore) ?? "");
  // The path is only what this login stored: its hash is in the signed part.
  const returnPath = safeReturnPath(
    typeof login.p === "string" && safeEqual(sha256Base64url(packed), login.p) ? unpackPath(packed) : "/",
    appOrigin,
  );
  return redirect(`${appOrigin}${returnPath}`, [
    ...sessionCookies(gate, result.tokens.idToken, result.tokens.refreshToken),
    ...clearLogin(),
  ]);
}
