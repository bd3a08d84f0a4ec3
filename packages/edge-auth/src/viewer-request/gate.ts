// The viewer-request decision for one request: answer it at the edge (login, refresh, logout, runtime hand-off, refusals)
// or pass it on to the origin with the signed identity.
import type { CloudFrontRequest, CloudFrontResultResponse } from "aws-lambda";
import { JwtExpiredError } from "aws-jwt-verify/error";
import type { EdgeConfig, EdgeSecrets } from "../shared/config";
import {
  COOKIE,
  MAX_COOKIE_HEADER_LENGTH,
  REFRESH_PATH,
  clearCookie,
  clearEverywhere,
  cookieHeaderLength,
  cookieNamesBySize,
  isOurName,
  ourCookie,
  readCookies,
  setCookie,
  stripOurCookies,
} from "../shared/cookies";
import { classifyHost } from "../shared/hosts";
import { confirmPage, header, isNavigation, isStateChanging, isWebSocketUpgrade, json, page, redirect, refuse } from "../shared/http";
import { addIdentityHeaders, isSafeClaim, stripIdentityHeaders, type Identity } from "../shared/identity";
import { authorizeUrl, createIdTokenVerifier, logoutUrl, requestTokens, type IdTokenVerifier, type TokenClientOptions } from "../shared/oidc";
import { packPath, unpackPath } from "../shared/packed-path";
import { safeReturnPath, withoutQuery } from "../shared/return-path";
import { randomToken, seal, sha256Base64url, safeEqual, unseal } from "../shared/signed";
import { userSlug } from "../slug";
import { UsedOnce } from "./used-once";

export type ViewerRequestResult = CloudFrontRequest | CloudFrontResultResponse;

/** A login must come back within this time. */
export const LOGIN_MAX_AGE_SECONDS = 600;
/** A runtime ticket is valid this long (one redirect). */
export const TICKET_LIFETIME_SECONDS = 60;
/** Access to one runtime host after a hand-off. */
export const RUNTIME_SESSION_SECONDS = 8 * 3600;
const RUNTIME_STATE_MAX_AGE_SECONDS = 300;
/** Runtime hosts remembered for logout; older ones fall off (their cookies still expire after RUNTIME_SESSION_SECONDS). */
export const MAX_REMEMBERED_RUNTIME_HOSTS = 24;
/** A logout's pass through the runtime hosts must finish within this time. */
const LOGOUT_CHAIN_SECONDS = 120;
/** Longest login or runtime-state cookie value: with its name, well inside the 4096 bytes every browser keeps. */
const MAX_PATH_COOKIE_LENGTH = 3900;
/** Longest `/_auth/refresh?return=` or `/_auth/runtime?...` URL we send a browser to (CloudFront allows 8192). */
const MAX_REDIRECT_URL_LENGTH = 4096;

/** Two-label public suffixes under which unrelated parties register names (co.uk, com.au, ne.jp, ...). */
const SHARED_SECOND_LEVEL = /^(ac|co|com|edu|gen|go|gob|gov|info|ltd|mil|ne|net|nic|or|org|plc|sch)$/;

/**
 * True when the runtime domain and the app host are the same site (one registrable domain), judged without the Public Suffix
 * List: they share at least two labels, and two shared labels are not a `co.uk`-style public suffix. A private public suffix
 * (github.io style) would be judged same-site wrongly; the App tab's iframe then gets no cookie and visibly fails.
 */
export function runtimeIsSameSite(appHost: string, runtimeDomain: string): boolean {
  const a = appHost.split(".").reverse();
  const b = runtimeDomain.split(".").reverse();
  let shared = 0;
  while (shared < a.length && shared < b.length && a[shared] === b[shared]) shared += 1;
  if (shared >= 3) return true;
  return shared === 2 && !(a[0]!.length === 2 && SHARED_SECOND_LEVEL.test(a[1]!));
}

/** No Origin: only a request the browser marks as from this origin or typed by the user. */
function sameOriginOrUser(request: CloudFrontRequest): boolean {
  const site = header(request.headers, "sec-fetch-site");
  return site === "same-origin" || site === "none";
}

export interface GateOptions {
  /** Unix seconds. @default Date.now()/1000 */
  readonly now?: () => number;
  readonly tokenClient?: TokenClientOptions;
  /** @default an aws-jwt-verify JwtVerifier for the configured issuer */
  readonly verifier?: IdTokenVerifier;
}

type Session = { ok: true; identity: Identity } | { ok: false; reason: "none" | "expired" | "invalid" };

function identityFromClaims(claims: { sub: unknown; email?: unknown }): Identity | undefined {
  // Claims become header values and lines of the signed text: a newline in them could forge another identity's signature.
  if (!isSafeClaim(claims.sub, 128) || claims.sub.length === 0) return undefined;
  const email = isSafeClaim(claims.email, 254) ? claims.email : "";
  return { sub: claims.sub, slug: userSlug(claims.sub), email };
}

/** One JSON line per refused login or refresh, for CloudWatch; never a token or a key. */
function logRefusal(what: string, detail: Record<string, unknown>): void {
  console.warn(JSON.stringify({ level: "warn", message: what, ...detail }));
}

function pathWithQuery(request: CloudFrontRequest): string {
  return request.querystring ? `${request.uri}?${request.querystring}` : request.uri;
}

export function createGate(config: EdgeConfig, secrets: EdgeSecrets, options: GateOptions = {}): (request: CloudFrontRequest) => Promise<ViewerRequestResult> {
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  const verifier = options.verifier ?? createIdTokenVerifier(config, secrets.jwks);
  verifier.warmUp();
  const appOrigin = `https://${config.appHost}`;
  const redirectUri = `${appOrigin}/_auth/callback`;
  const spentNonces = new UsedOnce();
  const spentTickets = new UsedOnce();
  /*
   * SameSite of the runtime cookies. Same site as the app (runtime.example.com next to app.example.com): Lax, so that no other
   * site's page, frame or subresource carries them; the app's iframe is same-site and still sends them. A separate
   * registrable domain: the App tab's iframe is then cross-site, where only SameSite=None cookies are sent, so None is the one
   * value that works; the Origin check on writes and WebSocket handshakes (runtimeHost) is what stops other sites there.
   */
  const runtimeSameSite = runtimeIsSameSite(config.appHost, config.runtimeDomain) ? "Lax" : "None";

  const sessionCookies = (idToken: string, refreshToken?: string): string[] => {
    const cookies = [setCookie(COOKIE.session, idToken, { maxAgeSeconds: config.sessionMaxAgeSeconds })];
    if (refreshToken) cookies.push(setCookie(COOKIE.refresh, refreshToken, { maxAgeSeconds: config.sessionMaxAgeSeconds, sameSite: "Strict" }));
    return cookies;
  };
  const clearLogin = (): string[] => [clearCookie(COOKIE.login), clearCookie(COOKIE.loginMore)];
  const clearSession = (): string[] => [clearCookie(COOKIE.session), clearCookie(COOKIE.refresh, "/", "Strict"), ...clearLogin()];

  async function readSession(cookies: Map<string, string>): Promise<Session> {
    const token = ourCookie(cookies, COOKIE.session);
    if (!token) return { ok: false, reason: "none" };
    try {
      const identity = identityFromClaims(await verifier.verify(token));
      return identity ? { ok: true, identity } : { ok: false, reason: "invalid" };
    } catch (error) {
      // Only a token that is genuine apart from its age may be refreshed; forged, foreign or confused tokens mean "log in".
      return { ok: false, reason: error instanceof JwtExpiredError ? "expired" : "invalid" };
    }
  }

  function startLogin(returnPath: string, extraCookies: string[] = []): CloudFrontResultResponse {
    const nonce = randomToken(24);
    const codeVerifier = randomToken(32);
    // Long deep links: the return path rides deflated in the login cookies (the signed part holds its hash), never in the
    // provider's state; a path too long even for two cookies lands without its query, or at "/".
    let cookies: string[] = [];
    for (const path of [returnPath, withoutQuery(returnPath), "/"]) {
      const packed = packPath(path);
      const login = seal(secrets.nonceKey, "login", { n: nonce, v: codeVerifier, t: now(), h: config.appHost, p: sha256Base64url(packed) });
      const room = MAX_PATH_COOKIE_LENGTH - login.length - 1;
      const rest = packed.slice(room);
      if (rest.length > MAX_PATH_COOKIE_LENGTH) continue;
      cookies = [setCookie(COOKIE.login, `${login}~${packed.slice(0, room)}`, { maxAgeSeconds: LOGIN_MAX_AGE_SECONDS })];
      if (rest) cookies.push(setCookie(COOKIE.loginMore, rest, { maxAgeSeconds: LOGIN_MAX_AGE_SECONDS }));
      break;
    }
    const state = Buffer.from(JSON.stringify({ n: nonce })).toString("base64url");
    const location = authorizeUrl(config, { redirectUri, state, nonce: sha256Base64url(nonce), codeChallenge: sha256Base64url(codeVerifier) });
    return redirect(location, [...extraCookies, ...cookies]);
  }

  /** `/_auth/refresh?return=<path>`, shortened (query dropped, then "/") when it would make too long a URL. */
  function refreshUrlFor(returnPath: string): string {
    for (const path of [returnPath, withoutQuery(returnPath)]) {
      const url = `${REFRESH_PATH}?return=${encodeURIComponent(path)}`;
      if (url.length <= MAX_REDIRECT_URL_LENGTH) return url;
    }
    return `${REFRESH_PATH}?return=%2F`;
  }

  /** Not signed in (or no longer): navigations go through refresh or login, everything else gets a JSON 401 to recover from. */
  function unauthenticated(request: CloudFrontRequest, session: Session, returnPath: string): CloudFrontResultResponse {
    const refreshUrl = refreshUrlFor(returnPath);
    if (isNavigation(request)) {
      const fits = refreshUrl === `${REFRESH_PATH}?return=${encodeURIComponent(returnPath)}`;
      // A deep link too long for the refresh URL goes through a login, which carries it whole in the login cookie.
      if (session.ok === false && session.reason === "expired" && fits) return redirect(`${appOrigin}${refreshUrl}`);
      if (session.ok === false && session.reason === "expired") return startLogin(returnPath);
      return startLogin(returnPath, session.ok === false && session.reason === "invalid" ? [clearCookie(COOKIE.session)] : []);
    }
    const error = session.ok === false && session.reason === "expired" ? "session_expired" : "unauthenticated";
    return json(401, { error, refresh: REFRESH_PATH, login: refreshUrl }, [], { "WWW-Authenticate": 'Cookie realm="openhands"' });
  }

  function badLogin(message: string, cookies: string[] = clearLogin()): CloudFrontResultResponse {
    return page(400, "Sign-in failed", message, cookies, { href: `${appOrigin}/`, text: "Sign in again" });
  }

  async function callback(request: CloudFrontRequest, cookies: Map<string, string>): Promise<CloudFrontResultResponse> {
    const query = new URLSearchParams(request.querystring);
    const providerError = query.get("error");
    if (providerError !== null) return badLogin(`The identity provider answered: ${providerError.slice(0, 200)}`);
    const code = query.get("code");
    const stateParam = query.get("state");
    if (!code || !stateParam || code.length > 2048 || stateParam.length > 2048) return badLogin("The sign-in answer is incomplete.");
    const [sealed, head = ""] = (ourCookie(cookies, COOKIE.login) ?? "").split("~", 2);
    const login = unseal(secrets.nonceKey, "login", sealed);
    // Login CSRF / fixation: a callback without our signed login cookie (or one made for another host) was not started here.
    if (!login || typeof login.n !== "string" || typeof login.v !== "string" || typeof login.t !== "number" || login.h !== config.appHost) {
      return badLogin("No sign-in was in progress in this browser.");
    }
    // Expired nonce: a login must finish within LOGIN_MAX_AGE_SECONDS.
    if (now() - login.t > LOGIN_MAX_AGE_SECONDS || login.t > now() + 60) return badLogin("The sign-in took too long.");
    let state: Record<string, unknown> = {};
    try {
      const parsed: unknown = JSON.parse(Buffer.from(stateParam, "base64url").toString("utf8"));
      if (typeof parsed === "object" && parsed !== null) state = parsed as Record<string, unknown>;
    } catch {
      // refused below
    }
    // State mismatch: the answer must belong to the login this browser started (CSRF on the callback).
    if (typeof state.n !== "string" || !safeEqual(state.n, login.n)) return badLogin("The sign-in answer does not match this browser.");
    // Replayed nonce: each login is completed once.
    if (!spentNonces.spend(login.n, login.t + LOGIN_MAX_AGE_SECONDS, now())) return badLogin("This sign-in was already completed.");
    const result = await requestTokens(config, secrets, { grant_type: "authorization_code", code, redirect_uri: redirectUri, code_verifier: login.v }, options.tokenClient);
    if (!result.ok) {
      logRefusal("code exchange failed", result.kind === "unavailable" ? { detail: result.detail } : { status: result.status, error: result.error });
      if (result.kind === "unavailable") return page(503, "Sign-in unavailable", "The identity provider did not answer. Try again in a moment.", clearLogin(), { href: `${appOrigin}/`, text: "Try again" });
      return badLogin("The identity provider refused the sign-in code.");
    }
    let identity: Identity | undefined;
    try {
      const claims = await verifier.verify(result.tokens.idToken);
      // Nonce mismatch: the ID token must be the one issued for this login (token injection).
      if (claims.nonce !== sha256Base64url(login.n)) return badLogin("The identity token does not belong to this sign-in.");
      identity = identityFromClaims(claims);
    } catch (error) {
      logRefusal("ID token refused", { error: (error as Error).message });
    }
    if (!identity) return badLogin("The identity token was refused.");
    if (result.tokens.idToken.length > 4000) return badLogin("The identity token is too large for a cookie.");
    const packed = head + (ourCookie(cookies, COOKIE.loginMore) ?? "");
    // The path is only what this login stored: its hash is in the signed part.
    const returnPath = safeReturnPath(typeof login.p === "string" && safeEqual(sha256Base64url(packed), login.p) ? unpackPath(packed) : "/", appOrigin);
    return redirect(`${appOrigin}${returnPath}`, [...sessionCookies(result.tokens.idToken, result.tokens.refreshToken), ...clearLogin()]);
  }

  /** Who the session cookie belongs to, its expiry ignored (up to the cookie's own lifetime); undefined unless it is genuine. */
  async function expiredSessionOwner(cookies: Map<string, string>): Promise<Identity | undefined> {
    const token = ourCookie(cookies, COOKIE.session);
    if (!token) return undefined;
    try {
      return identityFromClaims(await verifier.verifyIgnoringExpiry(token, config.sessionMaxAgeSeconds));
    } catch {
      return undefined;
    }
  }

  async function refresh(request: CloudFrontRequest, cookies: Map<string, string>): Promise<CloudFrontResultResponse> {
    const returnPath = safeReturnPath(new URLSearchParams(request.querystring).get("return"), appOrigin);
    // A POST is the SPA asking in the background: it gets JSON, never a redirect.
    const api = request.method.toUpperCase() === "POST";
    const loginRequired = (extra: string[]) => (api ? json(401, { error: "login_required", login: refreshUrlFor(returnPath) }, extra) : startLogin(returnPath, extra));
    const refreshToken = ourCookie(cookies, COOKIE.refresh);
    if (!refreshToken) return loginRequired([]);
    const current = await expiredSessionOwner(cookies);
    // Refresh-token tossing: a refresh only renews a session this browser holds (genuine signature, any age), never starts one.
    if (!current) return loginRequired(clearSession());
    const result = await requestTokens(config, secrets, { grant_type: "refresh_token", refresh_token: refreshToken }, options.tokenClient);
    if (!result.ok && result.kind === "unavailable") {
      return api ? json(503, { error: "provider_unavailable" }, [], { "Retry-After": "5" }) : page(503, "Sign-in unavailable", "The identity provider did not answer. Try again in a moment.");
    }
    let identity: Identity | undefined;
    if (result.ok) {
      try {
        identity = identityFromClaims(await verifier.verify(result.tokens.idToken));
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
    const setCookies = sessionCookies(result.tokens.idToken, result.tokens.refreshToken);
    return api ? json(200, { ok: true }, setCookies) : redirect(`${appOrigin}${returnPath}`, setCookies);
  }

  function rememberedRuntimeHosts(cookies: Map<string, string>): string[] {
    const value = unseal(secrets.nonceKey, "runtimes", ourCookie(cookies, COOKIE.runtimes));
    const hosts: unknown[] = Array.isArray(value?.h) ? (value.h as unknown[]) : [];
    // Open redirect: only names that still parse as our runtime hosts can become logout hops.
    return hosts.filter((h): h is string => typeof h === "string" && classifyHost(h, config).kind === "runtime").slice(0, MAX_REMEMBERED_RUNTIME_HOSTS);
  }

  /**
   * Runtime cookies are host-only on each runtime host, out of the app host's reach: logout passes the browser through
   * every runtime host it was handed to (each clears its own cookie), then to the provider's logout.
   */
  function logout(request: CloudFrontRequest, cookies: Map<string, string>): CloudFrontResultResponse {
    const method = request.method.toUpperCase();
    // Forced logout: another site's link or image must not sign the user out (POSTs passed the app's CSRF check above).
    if (method !== "POST" && !((method === "GET" || method === "HEAD") && sameOriginOrUser(request))) {
      return confirmPage(403, "Sign out?", "Another page asked to sign you out. Nothing was changed.", "/_auth/logout", "Sign out");
    }
    const hosts = rememberedRuntimeHosts(cookies);
    const cleared = [...clearSession(), clearCookie(COOKIE.runtimes)];
    if (hosts.length === 0) return redirect(logoutUrl(config, `${appOrigin}/`), cleared);
    const chain = seal(secrets.nonceKey, "logout", { h: hosts, x: now() + LOGOUT_CHAIN_SECONDS });
    return redirect(`https://${hosts[0]}/_auth/runtime-logout?chain=${chain}`, cleared);
  }

  function runtimeLogout(request: CloudFrontRequest, host: string): CloudFrontResultResponse {
    const cleared = [clearCookie(COOKIE.runtime, "/", runtimeSameSite), clearCookie(COOKIE.runtimeState, "/", runtimeSameSite)];
    const token = new URLSearchParams(request.querystring).get("chain") ?? undefined;
    const chain = unseal(secrets.nonceKey, "logout", token);
    const hosts: unknown[] = Array.isArray(chain?.h) ? (chain.h as unknown[]) : [];
    const at = hosts.indexOf(host);
    // Forged, foreign or stale logout chains redirect nowhere: the hop only signs this host out.
    if (!chain || typeof chain.x !== "number" || chain.x < now() || at < 0) {
      // Forced logout: without a valid chain, only the user (typed or same-origin) may sign this host out, not another site.
      if (!sameOriginOrUser(request)) return page(403, "Not signed out", "Another page asked to sign you out of this runtime host. Nothing was changed.", [], { href: `${appOrigin}/`, text: "Open OpenHands" });
      return page(200, "Signed out", "You are signed out of this runtime host.", cleared, { href: `${appOrigin}/`, text: "Open OpenHands" });
    }
    const next = hosts[at + 1];
    // Open redirect: the next hop is a signed runtime host that still matches the pattern, or the provider's logout.
    const location =
      typeof next === "string" && classifyHost(next, config).kind === "runtime"
        ? `https://${next}/_auth/runtime-logout?chain=${token}`
        : logoutUrl(config, `${appOrigin}/`);
    return redirect(location, cleared);
  }

  async function runtimeTicket(request: CloudFrontRequest, cookies: Map<string, string>): Promise<CloudFrontResultResponse> {
    const session = await readSession(cookies);
    if (!session.ok) return unauthenticated(request, session, safeReturnPath(pathWithQuery(request), appOrigin));
    const query = new URLSearchParams(request.querystring);
    const target = classifyHost(query.get("host") ?? "", config);
    if (target.kind !== "runtime") return refuse(request, 400, "bad_runtime_host", "That is not a runtime host.");
    // Ticket for another user's sandbox: the slug in the host name must be the signed-in user's own.
    if (target.slug !== session.identity.slug) return refuse(request, 403, "not_owner", "That runtime belongs to another user.");
    const runtimeOrigin = `https://${target.host}`;
    const path = safeReturnPath(query.get("path"), runtimeOrigin);
    const binding = query.get("n");
    // Without a browser binding the runtime host starts a bound hand-off itself.
    if (binding === null) return redirect(`${runtimeOrigin}${path}`);
    if (!/^[A-Za-z0-9_-]{43}$/.test(binding)) return refuse(request, 400, "bad_binding", "The runtime hand-off is malformed.");
    const { sub, slug, email } = session.identity;
    // Without a path the runtime host keeps the (possibly long) path in its state cookie, bound by `n`.
    const carried = query.get("path") === null ? {} : { p: path };
    const ticket = seal(secrets.ticketKey, "ticket", { h: target.host, s: sub, u: slug, e: email, x: now() + TICKET_LIFETIME_SECONDS, j: randomToken(16), n: binding, ...carried });
    const remembered = [target.host, ...rememberedRuntimeHosts(cookies).filter((h) => h !== target.host)].slice(0, MAX_REMEMBERED_RUNTIME_HOSTS);
    const runtimes = setCookie(COOKIE.runtimes, seal(secrets.nonceKey, "runtimes", { h: remembered }), { maxAgeSeconds: config.sessionMaxAgeSeconds });
    return redirect(`${runtimeOrigin}/_auth/runtime-callback?ticket=${ticket}`, [runtimes]);
  }

  async function appHost(request: CloudFrontRequest, cookies: Map<string, string>): Promise<ViewerRequestResult> {
    // CSRF (and cross-site WebSocket hijacking), including from sandbox pages on same-site runtime hosts:
    // state-changing requests and upgrades must come from the app's own origin.
    if (isStateChanging(request.method) || isWebSocketUpgrade(request)) {
      const origin = header(request.headers, "origin");
      const fetchSite = header(request.headers, "sec-fetch-site");
      const sameOrigin = origin !== undefined ? origin === appOrigin : fetchSite === "same-origin";
      if (!sameOrigin) return json(403, { error: "cross_origin", message: "This request did not come from the app." });
    }
    switch (request.uri) {
      case "/_auth/callback":
        return callback(request, cookies);
      case REFRESH_PATH:
        return refresh(request, cookies);
      case "/_auth/logout":
        return logout(request, cookies);
      case "/_auth/runtime":
        return runtimeTicket(request, cookies);
      default:
        if (request.uri.startsWith("/_auth/")) return refuse(request, 404, "not_found", "No such page.");
    }
    const session = await readSession(cookies);
    if (!session.ok) return unauthenticated(request, session, safeReturnPath(pathWithQuery(request), appOrigin));
    // Our tokens never reach the origin (the app has no use for them, and they must not leak into logs or sandboxes).
    stripOurCookies(request.headers);
    addIdentityHeaders(request.headers, secrets.identitySigningKey, config.appHost, session.identity, now());
    return request;
  }

  function readRuntimeSession(cookies: Map<string, string>, host: string, slug: string): Identity | undefined {
    const value = unseal(secrets.ticketKey, "runtime", ourCookie(cookies, COOKIE.runtime));
    // Cookie minted for another host (or user), or expired: not a credential here.
    if (!value || value.h !== host || value.u !== slug || typeof value.x !== "number" || value.x < now()) return undefined;
    const identity = identityFromClaims({ sub: value.s, email: value.e });
    return identity && identity.slug === slug ? identity : undefined;
  }

  /** The runtime-state cookie: a random value, "." and the deflated path to land on (base64url). `n` of the ticket is its SHA-256. */
  function runtimeState(path: string): string {
    const random = randomToken(32);
    for (const candidate of [path, withoutQuery(path), "/"]) {
      const value = `${random}.${packPath(candidate)}`;
      if (value.length <= MAX_PATH_COOKIE_LENGTH) return value;
    }
    return random;
  }

  function pathInState(state: string): string | undefined {
    const dot = state.indexOf(".");
    return dot < 0 ? undefined : unpackPath(state.slice(dot + 1));
  }

  function runtimeCallback(request: CloudFrontRequest, cookies: Map<string, string>, host: string, slug: string): CloudFrontResultResponse {
    const restart = { href: `https://${host}/`, text: "Open it again" };
    const fail = (status: number, message: string) => page(status, "Runtime access refused", message, [clearCookie(COOKIE.runtimeState, "/", runtimeSameSite)], restart);
    const ticket = unseal(secrets.ticketKey, "ticket", new URLSearchParams(request.querystring).get("ticket") ?? undefined);
    // Tampered or truncated ticket, or one signed with another key.
    if (!ticket) return fail(400, "The access ticket is not valid.");
    // Ticket for another host: tickets are bound to one runtime host name.
    if (ticket.h !== host) return fail(403, "The access ticket is for another host.");
    // Ticket for another user: the ticket's user must own this host.
    if (typeof ticket.s !== "string" || ticket.u !== slug || userSlug(ticket.s) !== slug) return fail(403, "The access ticket is for another user.");
    // Expired ticket.
    if (typeof ticket.x !== "number" || ticket.x < now()) return fail(400, "The access ticket has expired.");
    // Ticket replay: it only works in the browser that asked for it (its state cookie), and only once.
    const state = ourCookie(cookies, COOKIE.runtimeState);
    if (!state || typeof ticket.n !== "string" || !safeEqual(sha256Base64url(state), ticket.n)) return fail(403, "The access ticket was not requested by this browser.");
    if (typeof ticket.j !== "string" || !spentTickets.spend(ticket.j, ticket.x, now())) return fail(403, "The access ticket was already used.");
    const runtime = seal(secrets.ticketKey, "runtime", { h: host, s: ticket.s, u: slug, e: ticket.e, x: now() + RUNTIME_SESSION_SECONDS });
    const target = safeReturnPath(typeof ticket.p === "string" ? ticket.p : pathInState(state), `https://${host}`);
    return redirect(`https://${host}${target}`, [
      setCookie(COOKIE.runtime, runtime, { maxAgeSeconds: RUNTIME_SESSION_SECONDS, sameSite: runtimeSameSite }),
      clearCookie(COOKIE.runtimeState, "/", runtimeSameSite),
    ]);
  }

  function isAppTabProbe(request: CloudFrontRequest): boolean {
    return (
      request.method.toUpperCase() === "GET" &&
      // Unsigned pass-through abuse (a WebSocket handshake, another path or a query riding on the probe): only `GET /`.
      request.uri === "/" &&
      request.querystring === "" &&
      !isWebSocketUpgrade(request) &&
      !header(request.headers, "upgrade") &&
      header(request.headers, "origin") === appOrigin &&
      !header(request.headers, "cookie")
    );
  }

  /** A write or WebSocket handshake may act as the user only when it comes from this runtime host itself or from the app. */
  function fromThisHostOrApp(request: CloudFrontRequest, host: string): boolean {
    const origin = header(request.headers, "origin");
    if (origin !== undefined) return origin === appOrigin || origin === `https://${host}`;
    return sameOriginOrUser(request);
  }

  function runtimeHost(request: CloudFrontRequest, cookies: Map<string, string>, host: string, slug: string): ViewerRequestResult {
    if (request.uri === "/_auth/runtime-callback") return runtimeCallback(request, cookies, host, slug);
    if (request.uri === "/_auth/runtime-logout") return runtimeLogout(request, host);
    const identity = readRuntimeSession(cookies, host, slug);
    // Session theft by the sandbox: none of our cookies reach a runtime origin.
    stripOurCookies(request.headers);
    if (identity) {
      const writes = !["GET", "HEAD"].includes(request.method.toUpperCase()) || isWebSocketUpgrade(request);
      // Cross-site request forgery and WebSocket hijacking of a worker (from another user's runtime host or any site).
      if (writes && !fromThisHostOrApp(request, host)) return json(403, { error: "cross_origin", message: "This request did not come from this runtime host or the app." });
      addIdentityHeaders(request.headers, secrets.identitySigningKey, host, identity, now());
      return request;
    }
    // The agent-server API authenticates with the sandbox's session key; the proxy checks it against the spawner's hash.
    const query = new URLSearchParams(request.querystring);
    if (header(request.headers, "x-session-api-key") || query.get("session_api_key")) return request;
    // CORS preflights never carry credentials; the proxy answers them (a WebSocket handshake is never one).
    if (request.method.toUpperCase() === "OPTIONS" && header(request.headers, "access-control-request-method") && !isWebSocketUpgrade(request)) return request;
    // The App tab's liveness probe: a credential-less GET from the app's own origin. It goes on unsigned; the proxy
    // answers it with the worker's liveness only (no sandbox content), so it cannot be used to read a sandbox.
    if (isAppTabProbe(request)) return request;
    if (!isNavigation(request)) {
      // WebSocket upgrades and API calls are never redirected.
      return json(401, { error: "runtime_login_required", login: `https://${host}${safeReturnPath(pathWithQuery(request), `https://${host}`)}` });
    }
    const path = safeReturnPath(pathWithQuery(request), `https://${host}`);
    const state = runtimeState(path);
    // Long deep links: the path travels in the state cookie, never in the URLs of the hand-off.
    const location = `${appOrigin}/_auth/runtime?host=${encodeURIComponent(host)}&n=${sha256Base64url(state)}`;
    return redirect(location, [setCookie(COOKIE.runtimeState, state, { maxAgeSeconds: RUNTIME_STATE_MAX_AGE_SECONDS, sameSite: runtimeSameSite })]);
  }

  /** Adds `clears` before the answer's own cookies (so that what the answer sets wins). */
  function withClears(result: ViewerRequestResult, clears: readonly string[]): ViewerRequestResult {
    if (!clears.length || !("status" in result)) return result;
    const own = result.headers?.["set-cookie"] ?? [];
    result.headers = { ...result.headers, "set-cookie": [...clears.map((value) => ({ key: "Set-Cookie", value })), ...own] };
    return result;
  }

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
      return refuse(request, 431, "cookies_too_large", "This site's cookies were too many or too large and have been cleared; reload the page.", clears);
    }
    if (host.kind === "unknown") {
      // Anything else on our domains (or a forged Host) is refused.
      return refuse(request, 404, "unknown_host", "Unknown host.");
    }
    const { values: cookies, hostile } = readCookies(request.headers);
    // Cookie tossing: duplicates of our names and strangers in our families are never read, and every answer we give expires them.
    const clears = hostile.size ? clearEverywhere(hostile, host.host, request.uri) : [];
    const result = host.kind === "app" ? await appHost(request, cookies) : runtimeHost(request, cookies, host.host, host.slug);
    return withClears(result, clears);
  };
}
