// The attack suite: one test per attack, each against the real viewer-request decision and a real issuer on loopback.
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { COOKIE } from "../src/shared/cookies";
import { seal } from "../src/shared/signed";
import { safeReturnPath } from "../src/shared/return-path";
import { userSlug } from "../src/slug";
import { signHs256, unsigned } from "./support/issuer";
import { startTestEdge, type TestEdge } from "./support/edge";
import {
  APP_HOST,
  NAV,
  RUNTIME_DOMAIN,
  asRequest,
  asResponse,
  bodyJson,
  cookieJar,
  headerValue,
  location,
  setCookies as setCookiesOf,
} from "./support/events";

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
  return {
    sub: "user-sub-1",
    email: "ada@example.test",
    token_use: "id",
    aud: "test-client-id",
    iss: edge.issuer.url,
    iat: now(),
    exp: now() + 3600,
    ...extra,
  };
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
  const mint = await edge.send({
    uri: "/_auth/runtime",
    querystring: new URL(location(first)).search.slice(1),
    headers: NAV,
    cookies: { [COOKIE.session]: session },
  });
  return { ticket: new URL(location(mint)).searchParams.get("ticket")!, state };
}

function exchange(host: string, ticket: string, state: string | undefined) {
  return edge.send({
    host,
    uri: "/_auth/runtime-callback",
    querystring: `ticket=${ticket}`,
    headers: NAV,
    cookies: state ? { [COOKIE.runtimeState]: state } : {},
  });
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
    await expectRejectedSession(
      signHs256(claims(), { alg: "HS256", typ: "JWT", kid: edge.issuer.kid }, JSON.stringify(edge.issuer.publicJwk)),
    );
  });

  it("an unknown kid (signed by another key) is refused", async () => {
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    await expectRejectedSession(edge.issuer.signJwt(claims(), { kid: "attacker-key" }, privateKey));
    // The known kid with the wrong key fails the signature.
    await expectRejectedSession(edge.issuer.signJwt(claims(), {}, privateKey));
  });

  it("an expired token gives no access (API: session_expired, nothing passes)", async () => {
    const result = asResponse(
      await edge.send({
        uri: "/api",
        headers: API,
        cookies: { [COOKIE.session]: edge.issuer.signJwt(claims({ exp: now() - 1, iat: now() - 3600 })) },
      }),
    );
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
    const result = asResponse(
      await edge.send({
        uri: "/_auth/callback",
        querystring: `code=attacker-code&state=${theirs.state}`,
        cookies: { [COOKIE.login]: mine.loginCookie },
      }),
    );
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
    const changed = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body!, "base64url").toString()), t: now() + 5000 })).toString(
      "base64url",
    );
    expect(
      asResponse(
        await edge.send({
          uri: "/_auth/callback",
          querystring: `code=c&state=${started.state}`,
          cookies: { [COOKIE.login]: `${changed}.${sig}` },
        }),
      ).status,
    ).toBe("400");
  });

  it("nonce mismatch (an ID token issued for another login) is refused", async () => {
    const started = await edge.startLogin();
    edge.issuer.tokenResponses.push(() => ({ status: 200, body: { id_token: edge.issuer.idToken({ nonce: "someone-elses-nonce" }) } }));
    const result = asResponse(
      await edge.send({
        uri: "/_auth/callback",
        querystring: `code=c&state=${started.state}`,
        cookies: { [COOKIE.login]: started.loginCookie },
      }),
    );
    expect(result.status).toBe("400");
    expect(cookieJar(result)[COOKIE.session]).toBeUndefined();
  });

  it("a replayed nonce (the same callback twice) is refused the second time", async () => {
    const started = await edge.startLogin();
    edge.issuer.tokenResponses.push(() => ({ status: 200, body: { id_token: edge.issuer.idToken({ nonce: started.nonce }) } }));
    const request = {
      uri: "/_auth/callback",
      querystring: `code=c&state=${started.state}`,
      cookies: { [COOKIE.login]: started.loginCookie },
    };
    expect(asResponse(await edge.send(request)).status).toBe("302");
    const before = edge.issuer.tokenRequests.length;
    expect(asResponse(await edge.send(request)).status).toBe("400");
    expect(edge.issuer.tokenRequests.length).toBe(before);
  });

  it("an expired nonce (login older than 10 minutes) is refused", async () => {
    const started = await edge.startLogin();
    edge.offset = 601;
    expect(
      asResponse(
        await edge.send({
          uri: "/_auth/callback",
          querystring: `code=c&state=${started.state}`,
          cookies: { [COOKIE.login]: started.loginCookie },
        }),
      ).status,
    ).toBe("400");
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
    const result = await edge.send({
      uri: "/_auth/callback",
      querystring: `code=c&state=${state}`,
      cookies: { [COOKIE.login]: started.loginCookie },
    });
    const url = new URL(location(result));
    expect(url.host).toBe(APP_HOST);
    expect(location(result).startsWith(`https://${APP_HOST}/`)).toBe(true);
    expect(safeReturnPath(target, `https://${APP_HOST}`)).not.toMatch(/^\/\/|^\/\\|evil\.example\//);
  });

  it("open redirect through the refresh return and the runtime path is refused", async () => {
    edge.issuer.tokenResponses.push(() => ({ status: 200, body: { id_token: edge.issuer.idToken() } }));
    const expired = edge.issuer.idToken({ exp: now() - 10, iat: now() - 3700 });
    const refreshed = await edge.send({
      uri: "/_auth/refresh",
      querystring: `return=${encodeURIComponent("//evil.example/x")}`,
      headers: NAV,
      cookies: { [COOKIE.session]: expired, [COOKIE.refresh]: "r" },
    });
    expect(location(refreshed)).toBe(`https://${APP_HOST}/`);
    const { session } = await edge.login();
    const runtime = await edge.send({
      uri: "/_auth/runtime",
      querystring: `host=${RUNTIME}&path=${encodeURIComponent("https://evil.example/")}`,
      headers: NAV,
      cookies: { [COOKIE.session]: session },
    });
    expect(location(runtime)).toBe(`https://${RUNTIME}/`);
  });
});

describe("attacks with headers and cookies", () => {
  it("client-forged identity headers are removed (unauthenticated and authenticated)", async () => {
    const forged = {
      "X-Oh-User": "admin",
      "x-oh-user-slug": OTHER_SLUG,
      "X-OH-SIG": "forged",
      "x-oh-exp": "9999999999",
      "x-oh-email": "a@b",
      "X-Oh-Anything": "x",
    };
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
    const cookie = seal(Buffer.from(edge.secrets.ticketKey!, "base64url"), "runtime", {
      h: otherHost,
      s: "user-sub-1",
      u: SLUG,
      e: "",
      x: now() + 3600,
    });
    expect(asResponse(await edge.send({ host: RUNTIME, uri: "/api", cookies: { [COOKIE.runtime]: cookie } })).status).toBe("401");
    asRequest(await edge.send({ host: otherHost, uri: "/api", cookies: { [COOKIE.runtime]: cookie } }));
  });

  it("a tampered or truncated runtime cookie is refused", async () => {
    const cookie = seal(Buffer.from(edge.secrets.ticketKey!, "base64url"), "runtime", {
      h: RUNTIME,
      s: "user-sub-1",
      u: SLUG,
      e: "",
      x: now() + 3600,
    });
    for (const bad of [cookie.slice(0, -3), `${cookie}x`, cookie.replace(/^./, (c) => (c === "e" ? "f" : "e")), cookie.split(".")[0]!]) {
      expect(asResponse(await edge.send({ host: RUNTIME, uri: "/api", cookies: { [COOKIE.runtime]: bad } })).status).toBe("401");
    }
    // A value signed for another purpose (a ticket) is not a runtime cookie.
    const ticketShaped = seal(Buffer.from(edge.secrets.ticketKey!, "base64url"), "ticket", {
      h: RUNTIME,
      s: "user-sub-1",
      u: SLUG,
      e: "",
      x: now() + 3600,
    });
    expect(asResponse(await edge.send({ host: RUNTIME, uri: "/api", cookies: { [COOKIE.runtime]: ticketShaped } })).status).toBe("401");
  });

  it("the app session cookie tossed onto a runtime host is neither accepted nor forwarded", async () => {
    const { session } = await edge.login();
    const result = asResponse(
      await edge.send({ host: RUNTIME, uri: "/api", cookies: { [COOKIE.session]: session, [COOKIE.refresh]: "r" } }),
    );
    expect(result.status).toBe("401");
    const passed = asRequest(
      await edge.send({
        host: RUNTIME,
        uri: "/api",
        headers: { "X-Session-API-Key": "k" },
        cookies: { [COOKIE.session]: session, keep: "1" },
      }),
    );
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
    const mint = asResponse(
      await edge.send({
        uri: "/_auth/runtime",
        querystring: `host=${otherHost}&n=${"a".repeat(43)}`,
        cookies: { [COOKIE.session]: session },
      }),
    );
    expect(mint.status).toBe("403");
    const key = Buffer.from(edge.secrets.ticketKey!, "base64url");
    const claimsOtherUser = seal(key, "ticket", {
      h: otherHost,
      s: "user-sub-1",
      u: OTHER_SLUG,
      e: "",
      x: now() + 60,
      j: "j1",
      n: "n",
      p: "/",
    });
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
    const result = asResponse(
      await edge.send({
        method: "POST",
        uri: "/api/v1/settings",
        headers: { Origin: origin, "Sec-Fetch-Site": "same-origin" },
        cookies: { [COOKIE.session]: session },
      }),
    );
    expect(result.status).toBe("403");
    expect(bodyJson(result).error).toBe("cross_origin");
  });

  it("a cross-site request without Origin (Sec-Fetch-Site: same-site) is refused", async () => {
    const { session } = await edge.login();
    expect(
      asResponse(
        await edge.send({
          method: "PUT",
          uri: "/api/x",
          headers: { "Sec-Fetch-Site": "same-site" },
          cookies: { [COOKIE.session]: session },
        }),
      ).status,
    ).toBe("403");
  });

  it("cross-site WebSocket hijacking (upgrade with a foreign Origin) is refused", async () => {
    const { session } = await edge.login();
    const result = asResponse(
      await edge.send({
        uri: "/socket.io/",
        headers: { Upgrade: "websocket", "Sec-WebSocket-Key": "x", Origin: "https://evil.example" },
        cookies: { [COOKIE.session]: session },
      }),
    );
    expect(result.status).toBe("403");
  });

  it("a logout forced from another site is refused", async () => {
    expect(asResponse(await edge.send({ method: "POST", uri: "/_auth/logout", headers: { Origin: "https://evil.example" } })).status).toBe(
      "403",
    );
  });
});

describe("cookie tossing from same-site pages", () => {
  const APEX = "example.test";
  const expiredFor = (sub: string) => edge.issuer.idToken({ sub, exp: now() - 10, iat: now() - 3700 });
  const attackerToken = () => edge.issuer.idToken({ sub: "attacker-sub", email: "eve@example.test" });
  const tokenRequestsWith = (refresh: string) => edge.issuer.tokenRequests.filter((r) => r.form.get("refresh_token") === refresh).length;
  const clearsFor = (result: Awaited<ReturnType<TestEdge["send"]>>, name: string) =>
    setCookiesOf(result).filter((c) => c.startsWith(`${name}=;`) && /Max-Age=0/.test(c));

  it(
    "the attacker's refresh token planted under the former name with " +
      "Domain=<apex>, listed first, is never used, and both copies are cleared",
    async () => {
      // What browsers send after `__Secure-oh-refresh=<B>; Domain=example.test; Path=/_auth/refresh` from a runtime host page.
      edge.issuer.tokenResponses.push(() => ({ status: 200, body: { id_token: attackerToken() } }));
      const result = await edge.send({
        uri: "/_auth/refresh",
        headers: {
          ...NAV,
          Cookie: `__Secure-oh-refresh=attacker-refresh; ${COOKIE.session}=${expiredFor("user-sub-1")}; __Secure-oh-refresh=victim-refresh`,
        },
      });
      expect(tokenRequestsWith("attacker-refresh")).toBe(0);
      expect(cookieJar(result)[COOKIE.session] ?? "").toBe("");
      const clears = clearsFor(result, "__Secure-oh-refresh");
      expect(clears.some((c) => !/Domain=/.test(c) && /Path=\/_auth\/refresh;/.test(c))).toBe(true);
      expect(clears.some((c) => c.includes(`Domain=${APEX};`) && /Path=\/_auth\/refresh;/.test(c))).toBe(true);
      expect(clears.some((c) => c.includes(`Domain=${APEX};`) && / Path=\/;/.test(c))).toBe(true);
    },
  );

  it("any of our cookie names sent twice is used for neither copy, and cleared", async () => {
    edge.issuer.tokenResponses.push(() => ({ status: 200, body: { id_token: attackerToken() } }));
    const result = await edge.send({
      uri: "/_auth/refresh",
      headers: {
        ...NAV,
        Cookie: `${COOKIE.refresh}=attacker-refresh; ${COOKIE.session}=${expiredFor("user-sub-1")}; ${COOKIE.refresh}=victim-refresh`,
      },
    });
    expect(tokenRequestsWith("attacker-refresh") + tokenRequestsWith("victim-refresh")).toBe(0);
    expect(clearsFor(result, COOKIE.refresh).some((c) => !/Domain=/.test(c) && / Path=\/;/.test(c))).toBe(true);
    expect(clearsFor(result, COOKIE.refresh).some((c) => c.includes(`Domain=${APEX};`))).toBe(true);
    // Two session cookies: neither signs anyone in.
    const victim = edge.issuer.signJwt(claims());
    const attacker = edge.issuer.signJwt(claims({ sub: "attacker-sub" }));
    const api = asResponse(
      await edge.send({ uri: "/api/x", headers: { ...API, Cookie: `${COOKIE.session}=${attacker}; ${COOKIE.session}=${victim}` } }),
    );
    expect(api.status).toBe("401");
    expect(clearsFor(api, COOKIE.session).length).toBeGreaterThan(0);
  });

  it("a refresh without a session cookie is refused before the provider is asked", async () => {
    edge.issuer.tokenResponses.push(() => ({ status: 200, body: { id_token: attackerToken() } }));
    const result = await edge.send({ uri: "/_auth/refresh", headers: NAV, cookies: { [COOKIE.refresh]: "attacker-refresh" } });
    expect(tokenRequestsWith("attacker-refresh")).toBe(0);
    expect(cookieJar(result)[COOKIE.session] ?? "").toBe("");
  });

  it("a refresh whose new ID token is for another user never replaces the session", async () => {
    edge.issuer.tokenResponses.push(() => ({ status: 200, body: { id_token: attackerToken(), refresh_token: "attacker-refresh-2" } }));
    const result = asResponse(
      await edge.send({
        method: "POST",
        uri: "/_auth/refresh",
        headers: { Origin: `https://${APP_HOST}` },
        cookies: { [COOKIE.session]: expiredFor("user-sub-1"), [COOKIE.refresh]: "tossed-refresh" },
      }),
    );
    expect(result.status).toBe("401");
    expect(cookieJar(result)[COOKIE.session]).toBe("");
    expect(cookieJar(result)[COOKIE.refresh]).toBe("");
  });

  it("a session cookie whose signature is not genuine cannot be refreshed, whatever its age", async () => {
    const [head, , sig] = expiredFor("user-sub-1").split(".");
    const forged = `${head}.${Buffer.from(JSON.stringify(claims({ exp: now() - 10 }))).toString("base64url")}.${sig}`;
    edge.issuer.tokenResponses.push(() => ({ status: 200, body: { id_token: edge.issuer.idToken() } }));
    const result = asResponse(
      await edge.send({
        method: "POST",
        uri: "/_auth/refresh",
        headers: { Origin: `https://${APP_HOST}` },
        cookies: { [COOKIE.session]: forged, [COOKIE.refresh]: "r-forged" },
      }),
    );
    expect(result.status).toBe("401");
    expect(tokenRequestsWith("r-forged")).toBe(0);
  });

  it("prefix spoofing: a cookie named with leading Unicode white space is not our session cookie", async () => {
    const token = edge.issuer.signJwt(claims());
    for (const space of ["\u00a0", "\u2000", "\ufeff", "\u2028"]) {
      const result = asResponse(await edge.send({ uri: "/api/x", headers: { ...API, Cookie: `${space}${COOKIE.session}=${token}` } }));
      expect(result.status).toBe("401");
    }
  });

  it("the refresh cookie is host-only __Host- (Path=/), so no Domain=<apex> copy can exist", async () => {
    const started = await edge.startLogin();
    edge.issuer.tokenResponses.push(() => ({
      status: 200,
      body: { id_token: edge.issuer.idToken({ nonce: started.nonce }), refresh_token: "r-host" },
    }));
    const result = await edge.send({
      uri: "/_auth/callback",
      querystring: `code=c&state=${started.state}`,
      headers: NAV,
      cookies: { [COOKIE.login]: started.loginCookie },
    });
    const line = setCookiesOf(result).find((c) => c.includes("=r-host;"))!;
    expect(line.startsWith("__Host-")).toBe(true);
    expect(line).toMatch(/; Path=\/; /);
    expect(line).not.toMatch(/Domain=/i);
  });
});

describe("cross-site requests to runtime hosts", () => {
  const OTHER_RUNTIME = `40123-${OTHER_SLUG}.${RUNTIME_DOMAIN}`;
  let runtimeCookie = "";
  beforeAll(async () => {
    const { ticket, state } = await mintTicket(RUNTIME);
    runtimeCookie = cookieJar(await exchange(RUNTIME, ticket, state))[COOKIE.runtime]!;
  });
  const send = (method: string, headers: Record<string, string>, uri = "/api/conversations") =>
    edge.send({ host: RUNTIME, method, uri, headers, cookies: { [COOKIE.runtime]: runtimeCookie } });

  it.each([
    ["another user's runtime host (same-site)", { Origin: `https://${OTHER_RUNTIME}` }],
    ["a foreign site", { Origin: "https://evil.example" }],
    ["an opaque origin", { Origin: "null" }],
    ["the runtime host over http", { Origin: `http://${RUNTIME}` }],
    ["no Origin, Sec-Fetch-Site same-site", { "Sec-Fetch-Site": "same-site" }],
    ["no Origin, Sec-Fetch-Site cross-site", { "Sec-Fetch-Site": "cross-site" }],
    ["no Origin, no Sec-Fetch-Site", {}],
  ])("a POST carrying the victim's runtime cookie from %s is refused 403", async (_name, headers) => {
    const result = asResponse(await send("POST", headers));
    expect(result.status).toBe("403");
    expect(bodyJson(result).error).toBe("cross_origin");
  });

  it(
    "cross-site WebSocket hijacking of a worker (handshake known by " +
      "Sec-WebSocket-Key alone, as CloudFront strips Upgrade) is refused 403",
    async () => {
      for (const origin of [`https://${OTHER_RUNTIME}`, "https://evil.example"]) {
        expect(
          asResponse(await send("GET", { "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", Origin: origin }, "/sockets/events/1")).status,
        ).toBe("403");
        expect(
          asResponse(
            await send(
              "GET",
              { "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", Upgrade: "websocket", Origin: origin },
              "/sockets/events/1",
            ),
          ).status,
        ).toBe("403");
      }
    },
  );

  it("the host itself, the app and the user's own navigation still act as the user (control)", async () => {
    const allowed: Record<string, string>[] = [
      { Origin: `https://${RUNTIME}` },
      { Origin: `https://${APP_HOST}` },
      { "Sec-Fetch-Site": "same-origin" },
    ];
    for (const headers of allowed) {
      expect(headerValue(asRequest(await send("POST", headers)), "x-oh-user")).toBe("user-sub-1");
    }
    expect(
      headerValue(
        asRequest(await send("GET", { "Sec-WebSocket-Key": "k", Origin: `https://${APP_HOST}` }, "/sockets/events/1")),
        "x-oh-user",
      ),
    ).toBe("user-sub-1");
    expect(headerValue(asRequest(await send("GET", { "Sec-Fetch-Site": "cross-site" }, "/page")), "x-oh-user")).toBe("user-sub-1");
  });

  it("the runtime cookies are SameSite=Lax when the runtime domain is the app's site, so other sites' pages never carry them", async () => {
    const { ticket, state } = await mintTicket(RUNTIME);
    const lines = setCookiesOf(await exchange(RUNTIME, ticket, state));
    expect(lines.find((c) => c.startsWith(`${COOKIE.runtime}=`) && !c.startsWith(`${COOKIE.runtime}=;`))).toMatch(/SameSite=Lax$/);
    expect(setCookiesOf(await edge.send({ host: RUNTIME, uri: "/", headers: NAV }))[0]).toMatch(/SameSite=Lax$/);
  });
});

describe("forced logout", () => {
  it.each([
    ["a cross-site link", { "Sec-Fetch-Site": "cross-site" }],
    ["a same-site sandbox page", { "Sec-Fetch-Site": "same-site" }],
    ["a client without Fetch metadata", {}],
  ])("GET /_auth/logout from %s clears nothing", async (_name, headers) => {
    const result = asResponse(
      await edge.send({
        uri: "/_auth/logout",
        headers: { ...NAV, ...headers },
        cookies: { [COOKIE.session]: edge.issuer.signJwt(claims()) },
      }),
    );
    expect(result.status).toBe("403");
    expect(setCookiesOf(result)).toEqual([]);
    expect(result.headers?.location).toBeUndefined();
  });

  it("the user's own logout (typed, same-origin GET, or a POST from the app) still signs out (control)", async () => {
    const specs: { method?: string; headers: Record<string, string> }[] = [
      { headers: { ...NAV, "Sec-Fetch-Site": "none" } },
      { headers: { ...NAV, "Sec-Fetch-Site": "same-origin" } },
      { method: "POST", headers: { Origin: `https://${APP_HOST}` } },
    ];
    for (const spec of specs) {
      const result = await edge.send({ uri: "/_auth/logout", ...spec });
      expect(cookieJar(result)[COOKIE.session]).toBe("");
    }
  });

  it("a runtime host's logout hop without a valid chain, from another site, clears nothing", async () => {
    const result = asResponse(
      await edge.send({
        host: RUNTIME,
        uri: "/_auth/runtime-logout",
        querystring: "chain=forged.x",
        headers: { ...NAV, "Sec-Fetch-Site": "cross-site" },
      }),
    );
    expect(result.status).toBe("403");
    expect(setCookiesOf(result)).toEqual([]);
  });
});

describe("the liveness-probe pass-through", () => {
  const APP_ORIGIN = { Origin: `https://${APP_HOST}` };
  it("a WebSocket handshake known only by Sec-WebSocket-Key does not ride it unsigned", async () => {
    expect(
      asResponse(
        await edge.send({
          host: RUNTIME,
          uri: "/",
          headers: { ...APP_ORIGIN, "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13" },
        }),
      ).status,
    ).toBe("401");
    // Any other upgrade (h2c) neither.
    expect(
      asResponse(
        await edge.send({ host: RUNTIME, uri: "/", headers: { ...APP_ORIGIN, Upgrade: "h2c", Connection: "Upgrade, HTTP2-Settings" } }),
      ).status,
    ).toBe("401");
  });

  it.each([
    ["another path", "/api/conversations", ""],
    ["a query", "/", "x=1"],
    ["an empty query marker", "/", "?"],
  ])("a credential-less GET with %s does not ride it", async (_name, uri, querystring) => {
    expect(asResponse(await edge.send({ host: RUNTIME, uri, querystring, headers: APP_ORIGIN })).status).toBe("401");
  });
});

describe("host values outside ASCII", () => {
  const kelvinSub = (() => {
    for (let i = 0; ; i += 1) if (userSlug(`kelvin-${i}`).includes("k")) return `kelvin-${i}`;
  })();
  const kelvinHost = `40123-${userSlug(kelvinSub)}.${RUNTIME_DOMAIN}`;

  it.each([
    ["the Kelvin sign (lower-cases to k)", kelvinHost.replace("k", "\u212a")],
    ["a trailing no-break space", `${APP_HOST}\u00a0`],
    ["a leading byte-order mark", `\ufeff${APP_HOST}`],
    ["a trailing line separator", `${APP_HOST}\u2028`],
    ["a leading space", ` ${APP_HOST}`],
    ["a dotless i", APP_HOST.replace("e", "\u0130")],
  ])("a Host with %s is not folded onto one of ours", async (_name, host) => {
    expect(asResponse(await edge.send({ host, uri: "/", headers: NAV })).status).toBe("404");
  });

  it("the runtime hand-off refuses a host parameter that only folds onto a runtime host", async () => {
    const { session } = await edge.login();
    const result = asResponse(
      await edge.send({
        uri: "/_auth/runtime",
        querystring: `host=${encodeURIComponent(kelvinHost.replace("k", "\u212a"))}&n=${"a".repeat(43)}`,
        cookies: { [COOKIE.session]: session },
      }),
    );
    expect(result.status).toBe("400");
  });
});

describe("request methods outside ASCII", () => {
  it("a method that only upper-cases to OPTIONS or GET does not ride the preflight or probe pass", async () => {
    for (const method of ["OPT\u0131ON\u017f", "opt\u0131ons", "GE\u0162"]) {
      const result = asResponse(
        await edge.send({
          host: RUNTIME,
          method,
          uri: "/api",
          headers: { "Access-Control-Request-Method": "POST", Origin: `https://${APP_HOST}` },
        }),
      );
      expect(result.status).toBe("405");
    }
  });
});

describe("lock-out and long links", () => {
  it("a cookie bomb planted with Domain=<apex> is expired by the 431 (host-only and Domain=), our own session kept", async () => {
    const session = edge.issuer.signJwt(claims());
    const cookie = `bomb-a=${"a".repeat(9000)}; ${COOKIE.session}=${session}; bomb-b=${"b".repeat(8000)}; bomb[c]=${"c".repeat(500)}`;
    const result = asResponse(await edge.send({ uri: "/conversations/1", headers: { ...NAV, Cookie: cookie } }));
    expect(result.status).toBe("431");
    const lines = setCookiesOf(result);
    for (const name of ["bomb-a", "bomb-b", "bomb[c]"]) {
      expect(lines).toContain(`${name}=; Domain=example.test; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax`);
      expect(lines).toContain(`${name}=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax`);
      expect(lines.some((l) => l.startsWith(`${name}=; Domain=example.test; Path=/conversations;`))).toBe(true);
    }
    expect(lines.some((l) => l.startsWith(`${COOKIE.session}=`))).toBe(false);
    // The same on a runtime host, where another user's sandbox can plant Domain=<runtime domain> cookies.
    const runtime = asResponse(await edge.send({ host: RUNTIME, uri: "/", headers: { ...NAV, Cookie: `bomb=${"c".repeat(17000)}` } }));
    expect(setCookiesOf(runtime)).toContain(`bomb=; Domain=${RUNTIME_DOMAIN}; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax`);
  });

  it("a flood of many small cookies is cleared within a bounded answer, largest first", async () => {
    const many = Array.from({ length: 400 }, (_, i) => `f${i}=${"x".repeat(40 + (i % 7))}`).join("; ");
    const result = asResponse(await edge.send({ uri: "/", headers: { ...NAV, Cookie: many } }));
    expect(result.status).toBe("431");
    const lines = setCookiesOf(result);
    expect(lines.join("\n").length).toBeLessThanOrEqual(12 * 1024 + lines.length);
    expect(lines.length).toBeGreaterThan(30);
  });

  async function completeLogin(uri: string, querystring: string): Promise<string> {
    const first = await edge.send({ uri, querystring, headers: NAV });
    const authorize = new URL(location(first));
    const nonce = authorize.searchParams.get("nonce")!;
    edge.issuer.tokenResponses.push(() => ({ status: 200, body: { id_token: edge.issuer.idToken({ nonce }) } }));
    const done = await edge.send({
      uri: "/_auth/callback",
      querystring: `code=c&state=${authorize.searchParams.get("state")}`,
      headers: NAV,
      cookies: cookieJar(first),
    });
    return location(done);
  }

  it.each([1490, 2100, 2700, 5000])("a deep link of %i characters (random query) signs in and lands on the link", async (length) => {
    const query = `q=${randomBytes(length)
      .toString("base64url")
      .slice(0, length - "/conversations/abc?q=".length)}`;
    expect(await completeLogin("/conversations/abc", query)).toBe(`https://${APP_HOST}/conversations/abc?${query}`);
  });

  it("a login path cookie swapped for another path never chooses where the sign-in lands", async () => {
    const first = await edge.send({ uri: "/conversations/abc", querystring: `q=${randomBytes(4000).toString("base64url")}`, headers: NAV });
    const authorize = new URL(location(first));
    edge.issuer.tokenResponses.push(() => ({
      status: 200,
      body: { id_token: edge.issuer.idToken({ nonce: authorize.searchParams.get("nonce") }) },
    }));
    const jar = cookieJar(first);
    const swapped = { ...jar, [COOKIE.loginMore]: `${jar[COOKIE.loginMore]!.slice(0, -4)}AAAA` };
    const done = await edge.send({
      uri: "/_auth/callback",
      querystring: `code=c&state=${authorize.searchParams.get("state")}`,
      headers: NAV,
      cookies: swapped,
    });
    expect(location(done)).toBe(`https://${APP_HOST}/`);
  });

  it("a long but compressible deep link of 7000 characters signs in and lands on the link", async () => {
    const query = `files=${Array.from({ length: 400 }, (_, i) => `src/module${i % 20}/file.ts`).join(",")}`.slice(0, 7000);
    expect(await completeLogin("/conversations/abc", query)).toBe(`https://${APP_HOST}/conversations/abc?${query}`);
  });

  it("a deep link too long for any cookie still signs in, landing on its path without the query", async () => {
    const query = `q=${randomBytes(6000).toString("base64url")}`;
    expect(await completeLogin("/conversations/abc", query)).toBe(`https://${APP_HOST}/conversations/abc`);
  });

  it("an expired session on a long deep link is renewed and lands on the link", async () => {
    const query = `q=${randomBytes(3500).toString("base64url")}`;
    const expired = edge.issuer.idToken({ exp: now() - 10, iat: now() - 3700 });
    const first = await edge.send({ uri: "/conversations/abc", querystring: query, headers: NAV, cookies: { [COOKIE.session]: expired } });
    // The refresh URL would be too long: the browser signs in again with the link in its login cookie.
    const authorize = new URL(location(first));
    expect(authorize.pathname).toBe("/authorize");
    edge.issuer.tokenResponses.push(() => ({
      status: 200,
      body: { id_token: edge.issuer.idToken({ nonce: authorize.searchParams.get("nonce") }) },
    }));
    const done = await edge.send({
      uri: "/_auth/callback",
      querystring: `code=c&state=${authorize.searchParams.get("state")}`,
      headers: NAV,
      cookies: cookieJar(first),
    });
    expect(location(done)).toBe(`https://${APP_HOST}/conversations/abc?${query}`);
  });

  it("a long runtime deep link goes through the hand-off and lands on the link", async () => {
    const { session } = await edge.login();
    const query = `path=${randomBytes(2400).toString("base64url")}`;
    const first = await edge.send({ host: RUNTIME, uri: "/files", querystring: query, headers: NAV });
    const state = cookieJar(first)[COOKIE.runtimeState]!;
    const mint = await edge.send({
      uri: "/_auth/runtime",
      querystring: new URL(location(first)).search.slice(1),
      headers: NAV,
      cookies: { [COOKIE.session]: session },
    });
    const callback = new URL(location(mint));
    const exchanged = await edge.send({
      host: RUNTIME,
      uri: callback.pathname,
      querystring: callback.search.slice(1),
      headers: NAV,
      cookies: { [COOKIE.runtimeState]: state },
    });
    expect(location(exchanged)).toBe(`https://${RUNTIME}/files?${query}`);
  });
});
