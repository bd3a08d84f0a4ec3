// Starting a login (signed nonce + PKCE cookie, the return path carried in the login cookies) and answering requests that
// are not signed in.
import type { CloudFrontRequest, CloudFrontResultResponse } from "aws-lambda";
import { COOKIE, REFRESH_PATH, clearCookie, setCookie } from "../shared/cookies";
import { isNavigation, json, page, redirect } from "../shared/http";
import { authorizeUrl } from "../shared/oidc";
import { packPath } from "../shared/packed-path";
import { withoutQuery } from "../shared/return-path";
import { randomToken, seal, sha256Base64url } from "../shared/signed";
import type { GateContext } from "./context";
import { clearLogin, type Session } from "./session";

/** A login must come back within this time. */
export const LOGIN_MAX_AGE_SECONDS = 600;
/** Longest login or runtime-state cookie value: with its name, well inside the 4096 bytes every browser keeps. */
export const MAX_PATH_COOKIE_LENGTH = 3900;
/** Longest `/_auth/refresh?return=` or `/_auth/runtime?...` URL we send a browser to (CloudFront allows 8192). */
const MAX_REDIRECT_URL_LENGTH = 4096;

export function startLogin(gate: GateContext, returnPath: string, extraCookies: string[] = []): CloudFrontResultResponse {
  const { config, secrets } = gate;
  const nonce = randomToken(24);
  const codeVerifier = randomToken(32);
  // Long deep links: the return path rides deflated in the login cookies (the signed part holds its hash), never in the
  // provider's state; a path too long even for two cookies lands without its query, or at "/".
  let cookies: string[] = [];
  for (const path of [returnPath, withoutQuery(returnPath), "/"]) {
    const packed = packPath(path);
    const login = seal(secrets.nonceKey, "login", {
      n: nonce,
      v: codeVerifier,
      t: gate.now(),
      h: config.appHost,
      p: sha256Base64url(packed),
    });
    const room = MAX_PATH_COOKIE_LENGTH - login.length - 1;
    const rest = packed.slice(room);
    if (rest.length > MAX_PATH_COOKIE_LENGTH) continue;
    cookies = [setCookie(COOKIE.login, `${login}~${packed.slice(0, room)}`, { maxAgeSeconds: LOGIN_MAX_AGE_SECONDS })];
    if (rest) cookies.push(setCookie(COOKIE.loginMore, rest, { maxAgeSeconds: LOGIN_MAX_AGE_SECONDS }));
    break;
  }
  const state = Buffer.from(JSON.stringify({ n: nonce })).toString("base64url");
  const location = authorizeUrl(config, {
    redirectUri: gate.redirectUri,
    state,
    nonce: sha256Base64url(nonce),
    codeChallenge: sha256Base64url(codeVerifier),
  });
  return redirect(location, [...extraCookies, ...cookies]);
}

/** `/_auth/refresh?return=<path>`, shortened (query dropped, then "/") when it would make too long a URL. */
export function refreshUrlFor(returnPath: string): string {
  for (const path of [returnPath, withoutQuery(returnPath)]) {
    const url = `${REFRESH_PATH}?return=${encodeURIComponent(path)}`;
    if (url.length <= MAX_REDIRECT_URL_LENGTH) return url;
  }
  return `${REFRESH_PATH}?return=%2F`;
}

/** Not signed in (or no longer): navigations go through refresh or login, everything else gets a JSON 401 to recover from. */
export function unauthenticated(
  gate: GateContext,
  request: CloudFrontRequest,
  session: Session,
  returnPath: string,
): CloudFrontResultResponse {
  const refreshUrl = refreshUrlFor(returnPath);
  if (isNavigation(request)) {
    const fits = refreshUrl === `${REFRESH_PATH}?return=${encodeURIComponent(returnPath)}`;
    // A deep link too long for the refresh URL goes through a login, which carries it whole in the login cookie.
    if (session.ok === false && session.reason === "expired" && fits) return redirect(`${gate.appOrigin}${refreshUrl}`);
    if (session.ok === false && session.reason === "expired") return startLogin(gate, returnPath);
    return startLogin(gate, returnPath, session.ok === false && session.reason === "invalid" ? [clearCookie(COOKIE.session)] : []);
  }
  const error = session.ok === false && session.reason === "expired" ? "session_expired" : "unauthenticated";
  return json(401, { error, refresh: REFRESH_PATH, login: refreshUrl }, [], { "WWW-Authenticate": 'Cookie realm="openhands"' });
}

export function badLogin(gate: GateContext, message: string, cookies: string[] = clearLogin()): CloudFrontResultResponse {
  return page(400, "Sign-in failed", message, cookies, { href: `${gate.appOrigin}/`, text: "Sign in again" });
}
