// Every branch of the viewer-request decision, through the factory, against a real token issuer on loopback.
import { createHmac } from "node:crypto";
import { inflateRawSync } from "node:zlib";
import { COOKIE } from "../src/shared/cookies";
import { userSlug } from "../src/slug";
import { startTestEdge, type TestEdge } from "./support/edge";
import { createViewerRequestHandler } from "../src/viewer-request";
import {
  APP_HOST,
  NAV,
  RUNTIME_DOMAIN,
  asRequest,
  asResponse,
  bodyJson,
  cfEvent,
  cfRequest,
  cookieJar,
  headerValue,
  location,
  setCookies,
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

const SLUG = userSlug("user-sub-1");
const RUNTIME = `40123-${SLUG}.${RUNTIME_DOMAIN}`;

function expectedSignature(key: string, host: string, sub: string, slug: string, email: string, exp: string): string {
  return createHmac("sha256", Buffer.from(key, "base64url")).update(`v1\n${host}\n${sub}\n${slug}\n${email}\n${exp}`).digest("base64url");
}

describe("GIVEN no session on the app host", () => {
  it(
    "WHEN a page is navigated to THEN it redirects to the authorize endpoint with " +
      "PKCE S256, state and nonce, and sets a signed login cookie",
    async () => {
      const result = await edge.send({ uri: "/conversations/1", querystring: "tab=app", headers: NAV });
      const url = new URL(location(result));
      expect(`${url.origin}${url.pathname}`).toBe(`${edge.issuer.url}/authorize`);
      expect(url.searchParams.get("response_type")).toBe("code");
      expect(url.searchParams.get("client_id")).toBe("test-client-id");
      expect(url.searchParams.get("redirect_uri")).toBe(`https://${APP_HOST}/_auth/callback`);
      expect(url.searchParams.get("code_challenge_method")).toBe("S256");
      expect(url.searchParams.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(url.searchParams.get("scope")).toBe("openid email profile");
      // The state holds the nonce only; the return path rides in the signed login cookie.
      const state = JSON.parse(Buffer.from(url.searchParams.get("state")!, "base64url").toString());
      expect(Object.keys(state)).toEqual(["n"]);
      const login = setCookies(result).find((c) => c.startsWith(`${COOKIE.login}=`))!;
      const [sealed, packed] = cookieJar(result)[COOKIE.login]!.split("~");
      const payload = JSON.parse(Buffer.from(sealed!.split(".")[0]!, "base64url").toString());
      expect(Object.keys(payload).sort()).toEqual(["h", "n", "p", "t", "v"]);
      expect(inflateRawSync(Buffer.from(packed!, "base64url")).toString()).toBe("/conversations/1?tab=app");
      expect(login).toMatch(/; Path=\/; Max-Age=600; Secure; HttpOnly; SameSite=Lax$/);
      expect(login).not.toMatch(/Domain=/i);
    },
  );

  it("WHEN an XHR asks THEN it gets a JSON 401 it can recover from, not a redirect", async () => {
    const result = asResponse(
      await edge.send({ uri: "/api/v1/settings", headers: { "Sec-Fetch-Mode": "cors", Accept: "application/json" } }),
    );
    expect(result.status).toBe("401");
    expect(bodyJson(result)).toMatchObject({ error: "unauthenticated", refresh: "/_auth/refresh" });
  });

  it("WHEN a request has no Sec-Fetch-Mode THEN Accept text/html decides that it is a navigation", async () => {
    expect(asResponse(await edge.send({ uri: "/", headers: { Accept: "text/html,*/*" } })).status).toBe("302");
    expect(asResponse(await edge.send({ uri: "/", headers: { Accept: "*/*" } })).status).toBe("401");
  });

  it("WHEN a WebSocket upgrade arrives THEN it is answered 401 and never redirected", async () => {
    const result = asResponse(
      await edge.send({
        uri: "/socket.io/",
        headers: { Upgrade: "websocket", "Sec-WebSocket-Key": "x", Origin: `https://${APP_HOST}`, "Sec-Fetch-Mode": "websocket" },
      }),
    );
    expect(result.status).toBe("401");
  });

  it("WHEN an unknown /_auth/ path is asked for THEN it is 404", async () => {
    expect(asResponse(await edge.send({ uri: "/_auth/nope" })).status).toBe("404");
  });
});

describe("GIVEN a completed login", () => {
  it("THEN the callback sets host-only session and refresh cookies and returns to the path", async () => {
    const started = await edge.startLogin("/conversations/7?x=1");
    edge.issuer.tokenResponses.push(() => ({
      status: 200,
      body: { id_token: edge.issuer.idToken({ nonce: started.nonce }), refresh_token: "r1" },
    }));
    const result = await edge.send({
      uri: "/_auth/callback",
      querystring: `code=abc&state=${started.state}`,
      headers: NAV,
      cookies: { [COOKIE.login]: started.loginCookie },
    });
    expect(location(result)).toBe(`https://${APP_HOST}/conversations/7?x=1`);
    const cookies = setCookies(result);
    expect(cookies.find((c) => c.startsWith(`${COOKIE.session}=`))).toMatch(/; Path=\/; Max-Age=2592000; Secure; HttpOnly; SameSite=Lax$/);
    expect(cookies.find((c) => c.startsWith(`${COOKIE.refresh}=r1`))).toMatch(
      /; Path=\/; Max-Age=2592000; Secure; HttpOnly; SameSite=Strict$/,
    );
    expect(cookieJar(result)[COOKIE.login]).toBe("");
    expect(cookies.join("\n")).not.toMatch(/Domain=/i);
    const token = edge.issuer.tokenRequests.at(-1)!.form;
    expect(token.get("grant_type")).toBe("authorization_code");
    expect(token.get("code")).toBe("abc");
    expect(token.get("code_verifier")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(token.get("redirect_uri")).toBe(`https://${APP_HOST}/_auth/callback`);
    expect(edge.issuer.tokenRequests.at(-1)!.authorization).toBeUndefined();
  });

  it("WHEN a request carries the session THEN it passes with a signed identity, without our cookies", async () => {
    const { session } = await edge.login();
    const request = asRequest(
      await edge.send({ uri: "/api/conversations", headers: { Cookie: `theme=dark; ${COOKIE.session}=${session}; other=1` } }),
    );
    expect(headerValue(request, "x-oh-user")).toBe("user-sub-1");
    expect(headerValue(request, "x-oh-user-slug")).toBe(SLUG);
    expect(headerValue(request, "x-oh-email")).toBe("ada@example.test");
    const exp = headerValue(request, "x-oh-exp")!;
    expect(Number(exp) - Date.now() / 1000).toBeGreaterThan(55);
    expect(headerValue(request, "x-oh-sig")).toBe(
      expectedSignature(edge.secrets.identitySigningKey!, APP_HOST, "user-sub-1", SLUG, "ada@example.test", exp),
    );
    expect(request.headers.cookie).toEqual([{ key: "Cookie", value: "theme=dark; other=1" }]);
  });

  it("WHEN only our cookies are sent THEN the Cookie header is removed entirely", async () => {
    const { session } = await edge.login();
    const request = asRequest(await edge.send({ uri: "/", cookies: { [COOKIE.session]: session } }));
    expect(request.headers.cookie).toBeUndefined();
  });

  it("WHEN a same-origin POST arrives (Origin, or only Sec-Fetch-Site) THEN it passes", async () => {
    const { session } = await edge.login();
    const cookies = { [COOKIE.session]: session };
    asRequest(await edge.send({ method: "POST", uri: "/api/x", cookies, headers: { Origin: `https://${APP_HOST}` } }));
    asRequest(await edge.send({ method: "DELETE", uri: "/api/x", cookies, headers: { "Sec-Fetch-Site": "same-origin" } }));
  });

  it("WHEN a state-changing request has neither Origin nor Sec-Fetch-Site THEN it is refused", async () => {
    const { session } = await edge.login();
    expect(asResponse(await edge.send({ method: "POST", uri: "/api/x", cookies: { [COOKIE.session]: session } })).status).toBe("403");
  });

  it("WHEN the app client has a secret THEN the token request uses HTTP Basic", async () => {
    const { createViewerRequestHandler } = await import("../src/viewer-request");
    const handler = createViewerRequestHandler({ config: edge.config, secrets: { ...edge.secrets, clientSecret: "s3cr3t" } });
    const first = await handler({
      Records: [
        {
          cf: {
            config: {} as never,
            request: {
              clientIp: "",
              method: "GET",
              uri: "/",
              querystring: "",
              headers: { host: [{ value: APP_HOST }], "sec-fetch-mode": [{ value: "navigate" }] },
            },
          },
        },
      ],
    });
    const url = new URL(location(first));
    const loginCookie = cookieJar(first)[COOKIE.login]!;
    edge.issuer.tokenResponses.push(() => ({
      status: 200,
      body: { id_token: edge.issuer.idToken({ nonce: url.searchParams.get("nonce") }) },
    }));
    const result = await handler({
      Records: [
        {
          cf: {
            config: {} as never,
            request: {
              clientIp: "",
              method: "GET",
              uri: "/_auth/callback",
              querystring: `code=c&state=${url.searchParams.get("state")}`,
              headers: { host: [{ value: APP_HOST }], cookie: [{ value: `${COOKIE.login}=${loginCookie}` }] },
            },
          },
        },
      ],
    });
    expect(asResponse(result).status).toBe("302");
    expect(edge.issuer.tokenRequests.at(-1)!.authorization).toBe(`Basic ${Buffer.from("test-client-id:s3cr3t").toString("base64")}`);
    // No refresh token in the answer: no refresh cookie.
    expect(cookieJar(result)[COOKIE.refresh]).toBeUndefined();
  });
});

describe("GIVEN the callback fails", () => {
  it("WHEN the provider sent an error THEN a page names it (escaped)", async () => {
    const result = asResponse(await edge.send({ uri: "/_auth/callback", querystring: "error=access_denied%3Cscript%3E", headers: NAV }));
    expect(result.status).toBe("400");
    expect(result.body).toContain("access_denied&#60;script&#62;");
  });

  it("WHEN code or state is missing THEN 400", async () => {
    expect(asResponse(await edge.send({ uri: "/_auth/callback", querystring: "code=x", headers: NAV })).status).toBe("400");
  });

  it("WHEN the provider refuses the code (4xx) THEN 400 without retrying", async () => {
    const started = await edge.startLogin();
    const before = edge.issuer.tokenRequests.length;
    edge.issuer.tokenResponses.push(() => ({ status: 400, body: { error: "invalid_grant" } }));
    const result = asResponse(
      await edge.send({
        uri: "/_auth/callback",
        querystring: `code=bad&state=${started.state}`,
        cookies: { [COOKIE.login]: started.loginCookie },
      }),
    );
    expect(result.status).toBe("400");
    expect(edge.issuer.tokenRequests.length - before).toBe(1);
  });

  it("WHEN the token endpoint fails with 5xx and network errors THEN it retries, and succeeds on the third attempt", async () => {
    const started = await edge.startLogin();
    const before = edge.issuer.tokenRequests.length;
    edge.issuer.tokenResponses.push(
      () => ({ status: 502, body: {} }),
      () => "drop",
      () => ({ status: 200, body: { id_token: edge.issuer.idToken({ nonce: started.nonce }) } }),
    );
    const result = asResponse(
      await edge.send({
        uri: "/_auth/callback",
        querystring: `code=c&state=${started.state}`,
        cookies: { [COOKIE.login]: started.loginCookie },
      }),
    );
    expect(result.status).toBe("302");
    expect(edge.issuer.tokenRequests.length - before).toBe(3);
  });

  it("WHEN the token endpoint keeps failing THEN 503 after three attempts", async () => {
    const started = await edge.startLogin();
    edge.issuer.tokenResponses.push(...[1, 2, 3].map(() => () => ({ status: 500, body: {} })));
    const result = asResponse(
      await edge.send({
        uri: "/_auth/callback",
        querystring: `code=c&state=${started.state}`,
        cookies: { [COOKIE.login]: started.loginCookie },
      }),
    );
    expect(result.status).toBe("503");
  });

  it("WHEN the answer has no id_token, or an invalid one THEN 400", async () => {
    for (const body of [{ access_token: "a" }, { id_token: "not.a.jwt" }]) {
      const started = await edge.startLogin();
      edge.issuer.tokenResponses.push(() => ({ status: 200, body }));
      const result = asResponse(
        await edge.send({
          uri: "/_auth/callback",
          querystring: `code=c&state=${started.state}`,
          cookies: { [COOKIE.login]: started.loginCookie },
        }),
      );
      expect(result.status).toBe("400");
    }
  });

  it("WHEN the ID token has an unusable sub THEN 400", async () => {
    const started = await edge.startLogin();
    edge.issuer.tokenResponses.push(() => ({
      status: 200,
      body: { id_token: edge.issuer.idToken({ nonce: started.nonce, sub: "a\nb" }) },
    }));
    const result = asResponse(
      await edge.send({
        uri: "/_auth/callback",
        querystring: `code=c&state=${started.state}`,
        cookies: { [COOKIE.login]: started.loginCookie },
      }),
    );
    expect(result.status).toBe("400");
  });
});

describe("GIVEN an expired session", () => {
  const expiredSession = () => edge.issuer.idToken({ exp: Math.floor(Date.now() / 1000) - 10, iat: Math.floor(Date.now() / 1000) - 3700 });
  /** What a browser sends to the refresh path: the (expired) session and the refresh token. */
  const refreshCookies = (refresh: string) => ({ [COOKIE.session]: expiredSession(), [COOKIE.refresh]: refresh });

  it("WHEN a page is navigated to THEN it goes through the refresh path with the return path", async () => {
    const result = await edge.send({ uri: "/conversations/3", headers: NAV, cookies: { [COOKIE.session]: expiredSession() } });
    expect(location(result)).toBe(`https://${APP_HOST}/_auth/refresh?return=%2Fconversations%2F3`);
  });

  it("WHEN a POST arrives THEN it gets a JSON 401 session_expired and is never turned into a GET", async () => {
    const result = asResponse(
      await edge.send({
        method: "POST",
        uri: "/api/x",
        headers: { Origin: `https://${APP_HOST}` },
        cookies: { [COOKIE.session]: expiredSession() },
      }),
    );
    expect(result.status).toBe("401");
    expect(result.headers?.location).toBeUndefined();
    expect(bodyJson(result).error).toBe("session_expired");
  });

  it("WHEN the refresh path is navigated to with a refresh cookie THEN new cookies are set and it returns", async () => {
    edge.issuer.tokenResponses.push(() => ({ status: 200, body: { id_token: edge.issuer.idToken({ email: "new@example.test" }) } }));
    const result = await edge.send({
      uri: "/_auth/refresh",
      querystring: "return=%2Fconversations%2F3",
      headers: NAV,
      cookies: refreshCookies("r1"),
    });
    expect(location(result)).toBe(`https://${APP_HOST}/conversations/3`);
    expect(cookieJar(result)[COOKIE.session]).toMatch(/^ey/);
    expect(cookieJar(result)[COOKIE.refresh]).toBeUndefined();
    expect(edge.issuer.tokenRequests.at(-1)!.form.get("grant_type")).toBe("refresh_token");
    expect(edge.issuer.tokenRequests.at(-1)!.form.get("refresh_token")).toBe("r1");
  });

  it("WHEN the SPA POSTs to the refresh path THEN it gets JSON 200 with the cookies", async () => {
    edge.issuer.tokenResponses.push(() => ({ status: 200, body: { id_token: edge.issuer.idToken(), refresh_token: "rotated" } }));
    const result = asResponse(
      await edge.send({ method: "POST", uri: "/_auth/refresh", headers: { Origin: `https://${APP_HOST}` }, cookies: refreshCookies("r1") }),
    );
    expect(result.status).toBe("200");
    expect(bodyJson(result)).toEqual({ ok: true });
    expect(cookieJar(result)[COOKIE.refresh]).toBe("rotated");
  });

  it("WHEN the refresh token is refused THEN the cookies are cleared and a navigation starts a login", async () => {
    edge.issuer.tokenResponses.push(() => ({ status: 400, body: { error: "invalid_grant" } }));
    const result = await edge.send({ uri: "/_auth/refresh", headers: NAV, cookies: refreshCookies("revoked") });
    expect(location(result)).toContain(`${edge.issuer.url}/authorize?`);
    const jar = cookieJar(result);
    expect(jar[COOKIE.session]).toBe("");
    expect(jar[COOKIE.refresh]).toBe("");
    expect(setCookies(result).find((c) => c.startsWith(`${COOKIE.refresh}=;`))).toContain("Path=/;");
  });

  it("WHEN the refresh answer holds an invalid token THEN a POST gets 401 login_required", async () => {
    edge.issuer.tokenResponses.push(() => ({ status: 200, body: { id_token: edge.issuer.idToken({ aud: "other" }) } }));
    const result = asResponse(
      await edge.send({ method: "POST", uri: "/_auth/refresh", headers: { Origin: `https://${APP_HOST}` }, cookies: refreshCookies("r1") }),
    );
    expect(result.status).toBe("401");
    expect(bodyJson(result).error).toBe("login_required");
  });

  it("WHEN there is no refresh cookie THEN a navigation starts a login and a POST gets 401", async () => {
    expect(location(await edge.send({ uri: "/_auth/refresh", headers: NAV }))).toContain("/authorize?");
    expect(asResponse(await edge.send({ method: "POST", uri: "/_auth/refresh", headers: { Origin: `https://${APP_HOST}` } })).status).toBe(
      "401",
    );
  });

  it("WHEN the provider is down during a refresh THEN 503 (page or JSON)", async () => {
    edge.issuer.tokenResponses.push(...[1, 2, 3, 4, 5, 6].map(() => () => ({ status: 503, body: {} })));
    expect(asResponse(await edge.send({ uri: "/_auth/refresh", headers: NAV, cookies: refreshCookies("r1") })).status).toBe("503");
    const api = asResponse(
      await edge.send({ method: "POST", uri: "/_auth/refresh", headers: { Origin: `https://${APP_HOST}` }, cookies: refreshCookies("r1") }),
    );
    expect(api.status).toBe("503");
    expect(api.headers?.["retry-after"]?.[0]?.value).toBe("5");
  });
});

describe("GIVEN logout", () => {
  it("THEN every cookie is cleared and the browser goes to the provider's logout with client_id and logout_uri", async () => {
    const result = await edge.send({ uri: "/_auth/logout", headers: { ...NAV, "Sec-Fetch-Site": "same-origin" } });
    const url = new URL(location(result));
    expect(`${url.origin}${url.pathname}`).toBe(`${edge.issuer.url}/logout`);
    expect(url.searchParams.get("client_id")).toBe("test-client-id");
    expect(url.searchParams.get("logout_uri")).toBe(`https://${APP_HOST}/`);
    expect(cookieJar(result)).toEqual({
      [COOKIE.session]: "",
      [COOKIE.refresh]: "",
      [COOKIE.login]: "",
      [COOKIE.loginMore]: "",
      [COOKIE.runtimes]: "",
    });
  });
});

describe("GIVEN logout after runtime hand-offs", () => {
  const USER_NAV = { ...NAV, "Sec-Fetch-Site": "none" };
  const OTHER_RUNTIME = `40777-${SLUG}.${RUNTIME_DOMAIN}`;

  async function mintFor(host: string, session: string, runtimes?: string) {
    const first = await edge.send({ host, uri: "/", headers: NAV });
    const cookies: Record<string, string> = { [COOKIE.session]: session };
    if (runtimes) cookies[COOKIE.runtimes] = runtimes;
    return edge.send({ uri: "/_auth/runtime", querystring: new URL(location(first)).search.slice(1), headers: NAV, cookies });
  }

  it(
    "THEN the browser passes through each runtime host it was handed to, each " +
      "clears its own cookie, and ends at the provider's logout",
    async () => {
      const { session } = await edge.login();
      const firstMint = await mintFor(RUNTIME, session);
      const remembered = cookieJar(firstMint)[COOKIE.runtimes]!;
      expect(setCookies(firstMint).find((c) => c.startsWith(COOKIE.runtimes))).toMatch(
        /; Path=\/; Max-Age=\d+; Secure; HttpOnly; SameSite=Lax$/,
      );
      const secondMint = await mintFor(OTHER_RUNTIME, session, remembered);
      const both = cookieJar(secondMint)[COOKIE.runtimes]!;

      const out = await edge.send({
        uri: "/_auth/logout",
        headers: USER_NAV,
        cookies: { [COOKIE.session]: session, [COOKIE.runtimes]: both },
      });
      expect(cookieJar(out)).toMatchObject({ [COOKIE.session]: "", [COOKIE.runtimes]: "" });
      const hop1 = new URL(location(out));
      expect(`${hop1.host}${hop1.pathname}`).toBe(`${OTHER_RUNTIME}/_auth/runtime-logout`);
      const atHop1 = await edge.send({ host: OTHER_RUNTIME, uri: hop1.pathname, querystring: hop1.search.slice(1), headers: NAV });
      expect(cookieJar(atHop1)).toEqual({ [COOKIE.runtime]: "", [COOKIE.runtimeState]: "" });
      const hop2 = new URL(location(atHop1));
      expect(`${hop2.host}${hop2.pathname}`).toBe(`${RUNTIME}/_auth/runtime-logout`);
      const atHop2 = await edge.send({ host: RUNTIME, uri: hop2.pathname, querystring: hop2.search.slice(1), headers: NAV });
      expect(cookieJar(atHop2)[COOKIE.runtime]).toBe("");
      const end = new URL(location(atHop2));
      expect(`${end.origin}${end.pathname}`).toBe(`${edge.issuer.url}/logout`);
    },
  );

  it(
    "WHEN a logout hop carries a forged, expired or foreign chain THEN it " + "only clears that host's cookie and redirects nowhere",
    async () => {
      const { session } = await edge.login();
      const remembered = cookieJar(await mintFor(RUNTIME, session))[COOKIE.runtimes]!;
      const chainUrl = new URL(
        location(await edge.send({ uri: "/_auth/logout", headers: USER_NAV, cookies: { [COOKIE.runtimes]: remembered } })),
      );
      const chain = chainUrl.searchParams.get("chain")!;
      // Open redirect through a forged chain naming an outside host.
      const forgedBody = Buffer.from(JSON.stringify({ h: [RUNTIME, "evil.example"], x: 9_999_999_999 })).toString("base64url");
      const forged = asResponse(
        await edge.send({
          host: RUNTIME,
          uri: "/_auth/runtime-logout",
          querystring: `chain=${forgedBody}.${chain.split(".")[1]}`,
          headers: USER_NAV,
        }),
      );
      expect(forged.status).toBe("200");
      expect(forged.headers?.location).toBeUndefined();
      expect(cookieJar(forged)[COOKIE.runtime]).toBe("");
      // A chain for other hosts, replayed on a host it does not name.
      const foreign = asResponse(
        await edge.send({ host: OTHER_RUNTIME, uri: "/_auth/runtime-logout", querystring: `chain=${chain}`, headers: USER_NAV }),
      );
      expect(foreign.status).toBe("200");
      // An expired chain.
      edge.offset = 600;
      const stale = asResponse(
        await edge.send({ host: RUNTIME, uri: "/_auth/runtime-logout", querystring: `chain=${chain}`, headers: USER_NAV }),
      );
      expect(stale.status).toBe("200");
      expect(stale.headers?.location).toBeUndefined();
    },
  );

  it("WHEN the remembered list is tampered with THEN logout ignores it and goes straight to the provider", async () => {
    const { session } = await edge.login();
    const remembered = cookieJar(await mintFor(RUNTIME, session))[COOKIE.runtimes]!;
    const [, mac] = remembered.split(".");
    const tampered = `${Buffer.from(JSON.stringify({ h: ["evil.example"] })).toString("base64url")}.${mac}`;
    const out = new URL(location(await edge.send({ uri: "/_auth/logout", headers: USER_NAV, cookies: { [COOKIE.runtimes]: tampered } })));
    expect(`${out.origin}${out.pathname}`).toBe(`${edge.issuer.url}/logout`);
  });
});

describe("GIVEN the runtime hand-off", () => {
  it("WHEN a runtime page is opened without access THEN the runtime host binds a state cookie and asks the app host", async () => {
    const result = await edge.send({ host: RUNTIME, uri: "/index.html", querystring: "a=1", headers: NAV });
    const url = new URL(location(result));
    expect(`${url.origin}${url.pathname}`).toBe(`https://${APP_HOST}/_auth/runtime`);
    expect(url.searchParams.get("host")).toBe(RUNTIME);
    // The path stays in the state cookie on the runtime host; `n` binds it.
    expect(url.searchParams.get("path")).toBeNull();
    expect(url.searchParams.get("n")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(setCookies(result)[0]).toMatch(new RegExp(`^${COOKIE.runtimeState}=.*; Path=/; Max-Age=300; Secure; HttpOnly; SameSite=Lax$`));
  });

  it(
    "WHEN the whole hand-off runs THEN the runtime host gets a host-only " + "cookie and later requests carry the identity for that host",
    async () => {
      const { session } = await edge.login();
      const first = await edge.send({ host: RUNTIME, uri: "/app", headers: NAV });
      const state = cookieJar(first)[COOKIE.runtimeState]!;
      const mint = await edge.send({
        uri: "/_auth/runtime",
        querystring: new URL(location(first)).search.slice(1),
        headers: NAV,
        cookies: { [COOKIE.session]: session },
      });
      const callback = new URL(location(mint));
      expect(callback.host).toBe(RUNTIME);
      expect(callback.pathname).toBe("/_auth/runtime-callback");
      const exchanged = await edge.send({
        host: RUNTIME,
        uri: callback.pathname,
        querystring: callback.search.slice(1),
        headers: NAV,
        cookies: { [COOKIE.runtimeState]: state },
      });
      expect(location(exchanged)).toBe(`https://${RUNTIME}/app`);
      const runtimeCookie = cookieJar(exchanged)[COOKIE.runtime]!;
      expect(setCookies(exchanged).find((c) => c.startsWith(COOKIE.runtime))).toMatch(
        /; Path=\/; Max-Age=28800; Secure; HttpOnly; SameSite=Lax$/,
      );
      expect(cookieJar(exchanged)[COOKIE.runtimeState]).toBe("");
      const request = asRequest(
        await edge.send({ host: RUNTIME, uri: "/api", headers: { Cookie: `${COOKIE.runtime}=${runtimeCookie}; app=1` } }),
      );
      const exp = headerValue(request, "x-oh-exp")!;
      expect(headerValue(request, "x-oh-sig")).toBe(
        expectedSignature(edge.secrets.identitySigningKey!, RUNTIME, "user-sub-1", SLUG, "ada@example.test", exp),
      );
      expect(request.headers.cookie).toEqual([{ key: "Cookie", value: "app=1" }]);
    },
  );

  it("WHEN /_auth/runtime has no browser binding THEN it sends the browser to the runtime host to start one", async () => {
    const { session } = await edge.login();
    const result = await edge.send({
      uri: "/_auth/runtime",
      querystring: `host=${RUNTIME}&path=%2Fx`,
      headers: NAV,
      cookies: { [COOKIE.session]: session },
    });
    expect(location(result)).toBe(`https://${RUNTIME}/x`);
  });

  it("WHEN /_auth/runtime gets a bad host or binding THEN 400; without a session THEN login", async () => {
    const { session } = await edge.login();
    const cookies = { [COOKIE.session]: session };
    expect(asResponse(await edge.send({ uri: "/_auth/runtime", querystring: "host=evil.test", cookies })).status).toBe("400");
    expect(asResponse(await edge.send({ uri: "/_auth/runtime", querystring: `host=${RUNTIME}&n=short`, cookies })).status).toBe("400");
    expect(location(await edge.send({ uri: "/_auth/runtime", querystring: `host=${RUNTIME}`, headers: NAV }))).toContain("/authorize?");
  });

  it("WHEN a sandbox session key is sent (header or query) THEN the request passes without identity and without our cookies", async () => {
    const header = asRequest(
      await edge.send({
        host: RUNTIME,
        uri: "/api/conversations",
        headers: { "X-Session-API-Key": "k" },
        cookies: { [COOKIE.session]: "tossed" },
      }),
    );
    expect(header.headers["x-oh-user"]).toBeUndefined();
    expect(header.headers.cookie).toBeUndefined();
    asRequest(
      await edge.send({
        host: RUNTIME,
        uri: "/sockets/events/1",
        querystring: "session_api_key=k",
        headers: { Upgrade: "websocket", "Sec-WebSocket-Key": "x" },
      }),
    );
  });

  it("WHEN a CORS preflight arrives THEN it passes to the proxy", async () => {
    asRequest(
      await edge.send({
        host: RUNTIME,
        method: "OPTIONS",
        uri: "/api",
        headers: { "Access-Control-Request-Method": "POST", Origin: `https://${APP_HOST}` },
      }),
    );
    expect(asResponse(await edge.send({ host: RUNTIME, method: "OPTIONS", uri: "/api" })).status).toBe("401");
  });

  it("WHEN the App tab probes a worker without credentials from the app's origin THEN it passes unsigned to the proxy", async () => {
    const probe = asRequest(await edge.send({ host: RUNTIME, uri: "/", headers: { Origin: `https://${APP_HOST}` } }));
    expect(Object.keys(probe.headers).filter((h) => h.startsWith("x-oh-"))).toEqual([]);
    // Only the app's exact origin, only GET, never a WebSocket upgrade.
    expect(asResponse(await edge.send({ host: RUNTIME, uri: "/", headers: { Origin: "https://evil.example" } })).status).toBe("401");
    expect(
      asResponse(await edge.send({ host: RUNTIME, method: "POST", uri: "/", headers: { Origin: `https://${APP_HOST}` } })).status,
    ).toBe("401");
    expect(
      asResponse(
        await edge.send({
          host: RUNTIME,
          uri: "/",
          headers: { Origin: `https://${APP_HOST}`, Upgrade: "websocket", "Sec-WebSocket-Key": "x" },
        }),
      ).status,
    ).toBe("401");
  });

  it("WHEN an XHR or WebSocket arrives without access THEN 401 JSON, never a redirect", async () => {
    const ws = asResponse(await edge.send({ host: RUNTIME, uri: "/ws", headers: { Upgrade: "websocket", "Sec-WebSocket-Key": "x" } }));
    expect(ws.status).toBe("401");
    expect(ws.headers?.location).toBeUndefined();
    expect(bodyJson(ws).error).toBe("runtime_login_required");
  });

  it("WHEN a host on the runtime domain does not match the pattern THEN 404", async () => {
    for (const host of [
      `0-${SLUG}.${RUNTIME_DOMAIN}`,
      `080-${SLUG}.${RUNTIME_DOMAIN}`,
      `65536-${SLUG}.${RUNTIME_DOMAIN}`,
      `1-${SLUG}.x.${RUNTIME_DOMAIN}`,
      `1-abcdefghijklmno1.${RUNTIME_DOMAIN}`,
      `1-${SLUG}x.${RUNTIME_DOMAIN}`,
      RUNTIME_DOMAIN,
      "evil.test",
      "",
    ]) {
      expect(asResponse(await edge.send({ host })).status).toBe("404");
    }
    asResponse(await edge.send({ host: `65535-${SLUG}.${RUNTIME_DOMAIN}`, headers: NAV }));
    expect(asResponse(await edge.send({ host: `${APP_HOST}:443`, headers: NAV })).status).toBe("302");
  });
});

describe("GIVEN a runtime domain that is its own registrable domain", () => {
  it("THEN the runtime cookies are SameSite=None (the App tab's iframe is cross-site there)", async () => {
    const handler = createViewerRequestHandler({ config: { ...edge.config, runtimeDomain: "runtime-example.net" }, secrets: edge.secrets });
    const host = `40123-${SLUG}.runtime-example.net`;
    const first = asResponse(await handler(cfEvent(cfRequest({ host, uri: "/", headers: NAV }))));
    expect(setCookies(first)[0]).toMatch(/SameSite=None$/);
  });
});
