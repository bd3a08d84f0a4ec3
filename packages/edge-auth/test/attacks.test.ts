// The attack suite: one test per attack, each against the real viewer-request decision and a real issuer on loopback.
import { generateKeyPairSync } from "node:crypto";
import { COOKIE } from "../src/shared/cookies";
import { seal } from "../src/shared/signed";
import { safeReturnPath } from "../src/shared/return-path";
import { userSlug } from "../src/slug";
import { signHs256, unsigned } from "./support/issuer";
import { startTestEdge, type TestEdge } from "./support/edge";
import { APP_HOST, NAV, RUNTIME_DOMAIN, asRequest, asResponse, bodyJson, cookieJar, headerValue, location } from "./support/events";

let edge: TestEdge;
beforeAll(async () => {
  edge = await startTestEdge();
});
afterAll(() => edge.close());
beforeEach(() => {
  edge.offset = 0;
  edge.issuer.tokenResponses.length = 0;
});

const now = () => Math.floor(Date.now() / 1000);
const SLUG = userSlug("user-sub-1");
const OTHER_SLUG = userSlug("user-sub-2");
const RUNTIME = `40123-${SLUG}.${RUNTIME_DOMAIN}`;
const API = { "Sec-Fetch-Mode": "cors" };

function claims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { sub: "user-sub-1", email: "ada@example.test", token_use: "id", aud: "test-client-id", iss: edge.issuer.url, iat: now(), exp: now() + 3600, ...extra };
}

/** The session cookie must not authenticate: the API call is refused and no identity reaches the origin. */
async function expectRejectedSession(token: string): Promise<void> {
  const result = asResponse(await edge.send({ uri: "/api/conversations", headers: API, cookies: { [COOKIE.session]: token } }));
  expect(result.status).toBe("401");
  expect(bodyJson(result).error).toBe("unauthenticated");
}

/** Runs the runtime hand-off up to the ticket, for `host`, as the signed-in user. */
async function mintTicket(host: string): Promise<{ ticket: string; state: string }> {
  const { session } = await edge.login();
  const first = await edge.send({ host, uri: "/", headers: NAV });
  const state = cookieJar(first)[COOKIE.runtimeState]!;
  const mint = await edge.send({ uri: "/_auth/runtime", querystring: new URL(location(first)).search.slice(1), headers: NAV, cookies: { [COOKIE.session]: session } });
  return { ticket: new URL(location(mint)).searchParams.get("ticket")!, state };
}

function exchange(host: string, ticket: string, state: string | undefined) {
  return edge.send({ host, uri: "/_auth/runtime-callback", querystring: `ticket=${ticket}`, headers: NAV, cookies: state ? { [COOKIE.runtimeState]: state } : {} });
}

describe("attacks on the session token", () => {
  it("the real token is accepted (control)", async () => {
    asRequest(await edge.send({ uri: "/api", cookies: { [COOKIE.session]: edge.issuer.signJwt(claims()) } }));
  });

  it("alg: none is refused", async () => {
    await expectRejectedSession(unsigned(claims(), { alg: "none", typ: "JWT", kid: edge.issuer.kid }));
  });

  it("HS256 signed with the issuer's public key is refused", async () => {
    const { createPublicKey } = await import("node:crypto");
    const pem = createPublicKey({ key: edge.issuer.publicJwk as never, format: "jwk" }).export({ type: "spki", format: "pem" });
    await expectRejectedSession(signHs256(claims(), { alg: "HS256", typ: "JWT", kid: edge.issuer.kid }, pem));
    await expectRejectedSession(signHs256(claims(), { alg: "HS256", typ: "JWT", kid: edge.issuer.kid }, JSON.stringify(edge.issuer.publicJwk)));
  });

  it("an unknown kid (signed by another key) is refused", async () => {
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    await expectRejectedSession(edge.issuer.signJwt(claims(), { kid: "attacker-key" }, privateKey));
    // The known kid with the wrong key fails the signature.
    await expectRejectedSession(edge.issuer.signJwt(claims(), {}, privateKey));
  });

  it("an expired token gives no access (API: session_expired, nothing passes)", async () => {
    const result = asResponse(await edge.send({ uri: "/api", headers: API, cookies: { [COOKIE.session]: edge.issuer.signJwt(claims({ exp: now() - 1, iat: now() - 3600 })) } }));
    expect(result.status).toBe("401");
    expect(bodyJson(result).error).toBe("session_expired");
  });

  it("a token that is not yet valid (nbf in the future) is refused", async () => {
    await expectRejectedSession(edge.issuer.signJwt(claims({ nbf: now() + 600 })));
  });

  it("a token from another issuer is refused", async () => {
    await expectRejectedSession(edge.issuer.signJwt(claims({ iss: "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other" })));
  });

  it("a token for another client is refused", async () => {
    await expectRejectedSession(edge.issuer.signJwt(claims({ aud: "another-client" })));
  });

  it("id/access token confusion: an access token is never a session", async () => {
    // Cognito's access token: token_use access, client_id instead of aud.
    const { aud: _aud, ...rest } = claims({ token_use: "access", client_id: "test-client-id", scope: "openid email" });
    await expectRejectedSession(edge.issuer.signJwt(rest));
    // Even with our audience, token_use must be "id".
    await expectRejectedSession(edge.issuer.signJwt(claims({ token_use: "access" })));
  });

  it("a tampered session cookie (payload changed, signature kept) is refused", async () => {
    const [head, , sig] = edge.issuer.signJwt(claims()).split(".");
    const forged = Buffer.from(JSON.stringify(claims({ sub: "admin" }))).toString("base64url");
    await expectRejectedSession(`${head}.${forged}.${sig}`);
  });

  it("a truncated session cookie is refused", async () => {
    const token = edge.issuer.signJwt(claims());
    await expectRejectedSession(token.slice(0, -10));
    await expectRejectedSession(token.split(".").slice(0, 2).join("."));
  });
});

describe("attacks on the login", () => {
  it("state mismatch (a callback for a login this browser did not start) is refused", async () => {
    const mine = await edge.startLogin();
    const theirs = await edge.startLogin();
    const result = asResponse(await edge.send({ uri: "/_auth/callback", querystring: `code=attacker-code&state=${theirs.state}`, cookies: { [COOKIE.login]: mine.loginCookie } }));
    expect(result.status).toBe("400");
    expect(edge.issuer.tokenRequests.filter((r) => r.form.get("code") === "attacker-code")).toHaveLength(0);
  });

  it("login CSRF without our login cookie is refused", async () => {
    const theirs = await edge.startLogin();
    expect(asResponse(await edge.send({ uri: "/_auth/callback", querystring: `code=c&state=${theirs.state}` })).status).toBe("400");
  });

  it("a tampered login cookie is refused", async () => {
    const started = await edge.startLogin();
    const [body, sig] = started.loginCookie.split(".");
    const changed = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body!, "base64url").toString()), t: now() + 5000 })).toString("base64url");
    expect(asResponse(await edge.send({ uri: "/_auth/callback", querystring: `code=c&state=${started.state}`, cookies: { [COOKIE.login]: `${changed}.${sig}` } })).status).toBe("400");
  });

  it("nonce mismatch (an ID token issued for another login) is refused", async () => {
    const started = await edge.startLogin();
    edge.issuer.tokenResponses.push(() => ({ status: 200, body: { id_token: edge.issuer.idToken({ nonce: "someone-elses-nonce" }) } }));
    const result = asResponse(await edge.send({ uri: "/_auth/callback", querystring: `code=c&state=${started.state}`, cookies: { [COOKIE.login]: started.loginCookie } }));
    expect(result.status).toBe("400");
    expect(cookieJar(result)[COOKIE.session]).toBeUndefined();
  });

  it("a replayed nonce (the same callback twice) is refused the second time", async () => {
    const started = await edge.startLogin();
    edge.issuer.tokenResponses.push(() => ({ status: 200, body: { id_token: edge.issuer.idToken({ nonce: started.nonce }) } }));
    const request = { uri: "/_auth/callback", querystring: `code=c&state=${started.state}`, cookies: { [COOKIE.login]: started.loginCookie } };
    expect(asResponse(await edge.send(request)).status).toBe("302");
    const before = edge.issuer.tokenRequests.length;
    expect(asResponse(await edge.send(request)).status).toBe("400");
    expect(edge.issuer.tokenRequests.length).toBe(before);
  });

  it("an expired nonce (login older than 10 minutes) is refused", async () => {
    const started = await edge.startLogin();
    edge.offset = 601;
    expect(asResponse(await edge.send({ uri: "/_auth/callback", querystring: `code=c&state=${started.state}`, cookies: { [COOKIE.login]: started.loginCookie } })).status).toBe("400");
  });

  it.each([
    "//evil.example",
    "/\\evil.example",
    "https://evil.example",
    "HTTPS://EVIL.example",
    "hTtPs://evil.example/x",
    "%2F%2Fevil.example",
    "/%5Cevil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "\\\\evil.example",
    "javascript:alert(1)",
    "//evil.example%2F@oh.example.test",
    "/ /evil.example",
    "@evil.example",
  ])("open redirect through the login return path is refused: %j", async (target) => {
    const started = await edge.startLogin();
    const nonce = JSON.parse(Buffer.from(started.state, "base64url").toString()).n;
    const state = Buffer.from(JSON.stringify({ n: nonce, r: target })).toString("base64url");
    edge.issuer.tokenResponses.push(() => ({ status: 200, body: { id_token: edge.issuer.idToken({ nonce: started.nonce }) } }));
    const result = await edge.send({ uri: "/_auth/callback", querystring: `code=c&state=${state}`, cookies: { [COOKIE.login]: started.loginCookie } });
    const url = new URL(location(result));
    expect(url.host).toBe(APP_HOST);
    expect(location(result).startsWith(`https://${APP_HOST}/`)).toBe(true);
    expect(safeReturnPath(target, `https://${APP_HOST}`)).not.toMatch(/^\/\/|^\/\\|evil\.example\//);
  });

  it("open redirect through the refresh return and the runtime path is refused", async () => {
    edge.issuer.tokenResponses.push(() => ({ status: 200, body: { id_token: edge.issuer.idToken() } }));
    const expired = edge.issuer.idToken({ exp: now() - 10, iat: now() - 3700 });
    const refreshed = await edge.send({ uri: "/_auth/refresh", querystring: `return=${encodeURIComponent("//evil.example/x")}`, headers: NAV, cookies: { [COOKIE.session]: expired, [COOKIE.refresh]: "r" } });
    expect(location(refreshed)).toBe(`https://${APP_HOST}/`);
    const { session } = await edge.login();
    const runtime = await edge.send({ uri: "/_auth/runtime", querystring: `host=${RUNTIME}&path=${encodeURIComponent("https://evil.example/")}`, headers: NAV, cookies: { [COOKIE.session]: session } });
    expect(location(runtime)).toBe(`https://${RUNTIME}/`);
  });
});

describe("attacks with headers and cookies", () => {
  it("client-forged identity headers are removed (unauthenticated and authenticated)", async () => {
    const forged = { "X-Oh-User": "admin", "x-oh-user-slug": OTHER_SLUG, "X-OH-SIG": "forged", "x-oh-exp": "9999999999", "x-oh-email": "a@b", "X-Oh-Anything": "x" };
    const runtime = asRequest(await edge.send({ host: RUNTIME, uri: "/api", headers: { ...forged, "X-Session-API-Key": "k" } }));
    expect(Object.keys(runtime.headers).filter((h) => h.startsWith("x-oh-"))).toEqual([]);
    const { session } = await edge.login();
    const app = asRequest(await edge.send({ uri: "/api", headers: forged, cookies: { [COOKIE.session]: session } }));
    expect(headerValue(app, "x-oh-user")).toBe("user-sub-1");
    expect(headerValue(app, "x-oh-user-slug")).toBe(SLUG);
    expect(app.headers["x-oh-anything"]).toBeUndefined();
    expect(app.headers["x-oh-sig"]).toHaveLength(1);
  });

  it("an oversized Cookie header is refused with 431 before parsing", async () => {
    const result = asResponse(await edge.send({ uri: "/", headers: { Cookie: `junk=${"a".repeat(17000)}` } }));
    expect(result.status).toBe("431");
  });

  it("an oversized session cookie is ignored, not parsed", async () => {
    await expectRejectedSession(`${edge.issuer.signJwt(claims())}${"A".repeat(5000)}`);
  });

  it("oversized forged headers and host names are harmless", async () => {
    asRequest(await edge.send({ host: RUNTIME, uri: "/", headers: { "x-oh-user": "u".repeat(20000), "X-Session-API-Key": "k" } }));
    expect(asResponse(await edge.send({ host: `${"a".repeat(300)}.${APP_HOST}` })).status).toBe("404");
  });

  it("a runtime cookie minted for another host is refused there", async () => {
    const otherHost = `40124-${SLUG}.${RUNTIME_DOMAIN}`;
    const cookie = seal(Buffer.from(edge.secrets.ticketKey!, "base64url"), "runtime", { h: otherHost, s: "user-sub-1", u: SLUG, e: "", x: now() + 3600 });
    expect(asResponse(await edge.send({ host: RUNTIME, uri: "/api", cookies: { [COOKIE.runtime]: cookie } })).status).toBe("401");
    asRequest(await edge.send({ host: otherHost, uri: "/api", cookies: { [COOKIE.runtime]: cookie } }));
  });

  it("a tampered or truncated runtime cookie is refused", async () => {
    const cookie = seal(Buffer.from(edge.secrets.ticketKey!, "base64url"), "runtime", { h: RUNTIME, s: "user-sub-1", u: SLUG, e: "", x: now() + 3600 });
    for (const bad of [cookie.slice(0, -3), `${cookie}x`, cookie.replace(/^./, (c) => (c === "e" ? "f" : "e")), cookie.split(".")[0]!]) {
      expect(asResponse(await edge.send({ host: RUNTIME, uri: "/api", cookies: { [COOKIE.runtime]: bad } })).status).toBe("401");
    }
    // A value signed for another purpose (a ticket) is not a runtime cookie.
    const ticketShaped = seal(Buffer.from(edge.secrets.ticketKey!, "base64url"), "ticket", { h: RUNTIME, s: "user-sub-1", u: SLUG, e: "", x: now() + 3600 });
    expect(asResponse(await edge.send({ host: RUNTIME, uri: "/api", cookies: { [COOKIE.runtime]: ticketShaped } })).status).toBe("401");
  });

  it("the app session cookie tossed onto a runtime host is neither accepted nor forwarded", async () => {
    const { session } = await edge.login();
    const result = asResponse(await edge.send({ host: RUNTIME, uri: "/api", cookies: { [COOKIE.session]: session, [COOKIE.refresh]: "r" } }));
    expect(result.status).toBe("401");
    const passed = asRequest(await edge.send({ host: RUNTIME, uri: "/api", headers: { "X-Session-API-Key": "k" }, cookies: { [COOKIE.session]: session, keep: "1" } }));
    expect(passed.headers.cookie).toEqual([{ key: "Cookie", value: "keep=1" }]);
  });
});

describe("attacks on runtime tickets", () => {
  it("ticket replay: the second exchange is refused, and so is one from a browser without the state cookie", async () => {
    const { ticket, state } = await mintTicket(RUNTIME);
    expect(asResponse(await exchange(RUNTIME, ticket, undefined)).status).toBe("403");
    expect(asResponse(await exchange(RUNTIME, ticket, "another-browsers-state")).status).toBe("403");
    expect(asResponse(await exchange(RUNTIME, ticket, state)).status).toBe("302");
    expect(asResponse(await exchange(RUNTIME, ticket, state)).status).toBe("403");
  });

  it("a ticket for another host is refused", async () => {
    const { ticket, state } = await mintTicket(RUNTIME);
    expect(asResponse(await exchange(`40124-${SLUG}.${RUNTIME_DOMAIN}`, ticket, state)).status).toBe("403");
  });

  it("a ticket for another user's host is never minted, and a forged one is refused", async () => {
    const { session } = await edge.login();
    const otherHost = `40123-${OTHER_SLUG}.${RUNTIME_DOMAIN}`;
    const mint = asResponse(await edge.send({ uri: "/_auth/runtime", querystring: `host=${otherHost}&n=${"a".repeat(43)}`, cookies: { [COOKIE.session]: session } }));
    expect(mint.status).toBe("403");
    const key = Buffer.from(edge.secrets.ticketKey!, "base64url");
    const claimsOtherUser = seal(key, "ticket", { h: otherHost, s: "user-sub-1", u: OTHER_SLUG, e: "", x: now() + 60, j: "j1", n: "n", p: "/" });
    expect(asResponse(await exchange(otherHost, claimsOtherUser, "s")).status).toBe("403");
  });

  it("an expired ticket is refused", async () => {
    const { ticket, state } = await mintTicket(RUNTIME);
    edge.offset = 61;
    expect(asResponse(await exchange(RUNTIME, ticket, state)).status).toBe("400");
  });

  it("a tampered or truncated ticket is refused", async () => {
    const { ticket, state } = await mintTicket(RUNTIME);
    expect(asResponse(await exchange(RUNTIME, ticket.slice(0, -2), state)).status).toBe("400");
    expect(asResponse(await exchange(RUNTIME, `x${ticket.slice(1)}`, state)).status).toBe("400");
  });
});

describe("CSRF", () => {
  it.each([
    ["a foreign site", "https://evil.example"],
    ["a sandbox on a same-site runtime host", `https://40123-${OTHER_SLUG}.${RUNTIME_DOMAIN}`],
    ["an opaque origin", "null"],
    ["the app over http", `http://${APP_HOST}`],
  ])("a state-changing request with the Origin of %s is refused", async (_name, origin) => {
    const { session } = await edge.login();
    const result = asResponse(await edge.send({ method: "POST", uri: "/api/v1/settings", headers: { Origin: origin, "Sec-Fetch-Site": "same-origin" }, cookies: { [COOKIE.session]: session } }));
    expect(result.status).toBe("403");
    expect(bodyJson(result).error).toBe("cross_origin");
  });

  it("a cross-site request without Origin (Sec-Fetch-Site: same-site) is refused", async () => {
    const { session } = await edge.login();
    expect(asResponse(await edge.send({ method: "PUT", uri: "/api/x", headers: { "Sec-Fetch-Site": "same-site" }, cookies: { [COOKIE.session]: session } })).status).toBe("403");
  });

  it("cross-site WebSocket hijacking (upgrade with a foreign Origin) is refused", async () => {
    const { session } = await edge.login();
    const result = asResponse(await edge.send({ uri: "/socket.io/", headers: { Upgrade: "websocket", "Sec-WebSocket-Key": "x", Origin: "https://evil.example" }, cookies: { [COOKIE.session]: session } }));
    expect(result.status).toBe("403");
  });

  it("a logout forced from another site is refused", async () => {
    expect(asResponse(await edge.send({ method: "POST", uri: "/_auth/logout", headers: { Origin: "https://evil.example" } })).status).toBe("403");
  });
});
