// End to end: headless Chromium, the real built bundles in the local CloudFront harness (TLS, host names mapped to loopback),
// a real OIDC provider (oidc-provider, shaped like Cognito) on loopback, and an origin that echoes what reached it.
// Chromium logs in, the session expires and is refreshed (in the background and by navigation), a runtime host is opened
// through the ticket hand-off (with a WebSocket), and the user logs out. In between, pages on another user's runtime host
// (same-site) and on another site try cookie tossing and cross-site writes and WebSockets against the signed-in user.
import { createHash, createHmac, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer as createHttpsServer, request as httpsRequest } from "node:https";
import { createServer as createHttpServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { createSelfSignedCertificate, startEdgeHarness, startOidcProvider, type EdgeHarness, type OidcProvider } from "../harness";
import { userSlug } from "../src/slug";

jest.setTimeout(120_000);

const APP = "oh.example.test";
const RUNTIME_DOMAIN = "runtime.example.test";
const TOKEN_TTL = 5;
const key = randomBytes(32).toString("base64url");
const secrets = {
  identitySigningKey: key,
  ticketKey: randomBytes(32).toString("base64url"),
  nonceKey: randomBytes(32).toString("base64url"),
};

interface Echo {
  method: string;
  url: string;
  host: string;
  identity: Record<string, string>;
  cookie: string;
}

function echoOf(req: IncomingMessage): Echo {
  const identity: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) if (name.startsWith("x-oh-")) identity[name] = String(value);
  return { method: req.method ?? "", url: req.url ?? "", host: String(req.headers.host), identity, cookie: req.headers.cookie ?? "" };
}

const upgraded = new Set<Socket>();
/** Every request that reached the origin, WebSockets included. */
const reached: Echo[] = [];

/** The origin: echoes each request (HTML for pages, JSON otherwise) and accepts WebSockets, sending the echo as the first frame. */
async function startOrigin(): Promise<Server> {
  const server = createHttpServer((req, res) => {
    reached.push(echoOf(req));
    const echo = JSON.stringify(echoOf(req));
    req.resume();
    if ((req.headers.accept ?? "").includes("text/html")) {
      res
        .writeHead(200, { "content-type": "text/html" })
        .end(`<!doctype html><title>origin</title><pre id="echo">${echo.replace(/</g, "&lt;")}</pre>`);
    } else {
      res.writeHead(200, { "content-type": "application/json" }).end(echo);
    }
  });
  server.on("upgrade", (req: IncomingMessage, socket: Socket) => {
    reached.push(echoOf(req));
    const accept = createHash("sha1").update(`${req.headers["sec-websocket-key"]}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    const payload = Buffer.from(JSON.stringify(echoOf(req)));
    const header =
      payload.length < 126 ? Buffer.from([0x81, payload.length]) : Buffer.from([0x81, 126, payload.length >> 8, payload.length & 255]);
    socket.write(Buffer.concat([header, payload]));
    socket.on("error", () => undefined);
    socket.on("end", () => socket.destroy());
    upgraded.add(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

function expectedSig(host: string, id: Record<string, string>): string {
  return createHmac("sha256", Buffer.from(key, "base64url"))
    .update(`v1\n${host}\n${id["x-oh-user"]}\n${id["x-oh-user-slug"]}\n${id["x-oh-email"]}\n${id["x-oh-exp"]}`)
    .digest("base64url");
}

async function readEcho(page: Page): Promise<Echo> {
  return JSON.parse((await page.locator("#echo").textContent()) ?? "{}") as Echo;
}

function rawRequest(harness: EdgeHarness, host: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      `${harness.url}${path}`,
      { headers: { host, accept: "application/json" }, rejectUnauthorized: false, servername: host },
      (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let provider: OidcProvider;
let origin: Server;
let harness: EdgeHarness;
let context: BrowserContext;
let page: Page;
let profile: string;
/** Another site (its own HTTPS server on loopback, so that Chromium's local-network rules treat it like the harness). */
let evilSite: Server;
const EVIL = "evil.test";

function chromiumOptions() {
  return {
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    headless: true,
    ignoreHTTPSErrors: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      // The app host and every runtime host go to the harness; nothing else resolves (the provider is an IP literal).
      `--host-resolver-rules=${harness.hostResolverRules}, MAP ${EVIL} 127.0.0.1:${(evilSite.address() as AddressInfo).port}, MAP ` +
        `* ~NOTFOUND, EXCLUDE 127.0.0.1`,
      // The harness serves a throwaway self-signed certificate; HTTPS is needed for the Secure and __Host- cookies.
      "--ignore-certificate-errors",
    ],
  };
}

beforeAll(async () => {
  provider = await startOidcProvider({
    clientId: "e2e-client",
    redirectUris: [`https://${APP}/_auth/callback`],
    postLogoutRedirectUris: [`https://${APP}/`],
    idTokenTtlSeconds: TOKEN_TTL,
  });
  origin = await startOrigin();
  harness = await startEdgeHarness({
    config: {
      version: 1,
      appHost: APP,
      runtimeDomain: RUNTIME_DOMAIN,
      ...provider.edgeConfig,
      scopes: ["openid", "email", "profile"],
      sessionMaxAgeSeconds: 86400,
    },
    secrets: { unset: true },
    originUrl: `http://127.0.0.1:${(origin.address() as AddressInfo).port}`,
  });
  evilSite = createHttpsServer(createSelfSignedCertificate([EVIL]), (req, res) => {
    req.resume();
    res.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>another site</title>");
  });
  await new Promise<void>((resolve) => evilSite.listen(0, "127.0.0.1", resolve));
  profile = mkdtempSync(join(tmpdir(), "edge-e2e-chromium-"));
  context = await chromium.launchPersistentContext(profile, chromiumOptions());
  page = context.pages()[0] ?? (await context.newPage());
});

afterAll(async () => {
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  await harness?.close();
  evilSite?.closeAllConnections();
  await new Promise((resolve) => (evilSite ? evilSite.close(resolve) : resolve(undefined)));
  origin?.closeAllConnections();
  for (const socket of upgraded) socket.destroy();
  await new Promise((resolve) => (origin ? origin.close(resolve) : resolve(undefined)));
  if (process.env.E2E_DEBUG) console.log(provider?.output());
  await provider?.close();
});

const SUB = "ada";
const SLUG = userSlug(SUB);
const RUNTIME = `40123-${SLUG}.${RUNTIME_DOMAIN}`;
const EVE_RUNTIME = `40123-${userSlug("eve")}.${RUNTIME_DOMAIN}`;

describe("GIVEN Chromium in front of the edge harness and a loopback OIDC provider", () => {
  it("WHEN the secrets are still a placeholder THEN the edge answers 503; once filled THEN it asks for a login", async () => {
    expect((await rawRequest(harness, APP, "/")).status).toBe(503);
    harness.setParameter("secrets", secrets);
    expect((await rawRequest(harness, APP, "/api/x")).status).toBe(401);
  });

  it("WHEN the user logs in at the provider THEN the page loads with a signed identity and host-only cookies", async () => {
    await page.goto(`https://${APP}/workspace?tab=1`);
    expect(page.url().startsWith(`${provider.issuer}/`)).toBe(true);
    await page.fill('input[name="login"]', "ada");
    await page.fill('input[name="password"]', "any password");
    await Promise.all([page.waitForURL(`https://${APP}/workspace?tab=1`), page.click('button[type="submit"]')]);
    const echo = await readEcho(page);
    expect(echo.identity["x-oh-user"]).toBe(SUB);
    expect(echo.identity["x-oh-user-slug"]).toBe(SLUG);
    expect(echo.identity["x-oh-email"]).toBe("ada@example.test");
    expect(echo.identity["x-oh-sig"]).toBe(expectedSig(APP, echo.identity));
    expect(echo.cookie).not.toContain("oh-");
    const cookies = await context.cookies(`https://${APP}/_auth/refresh`);
    const session = cookies.find((c) => c.name === "__Host-oh-session")!;
    expect(session).toMatchObject({ domain: APP, path: "/", secure: true, httpOnly: true, sameSite: "Lax" });
    expect(cookies.find((c) => c.name === "__Host-oh-refresh")).toMatchObject({
      domain: APP,
      path: "/",
      secure: true,
      httpOnly: true,
      sameSite: "Strict",
    });
  });

  it("THEN the app's responses carry the security headers of the origin-response function", async () => {
    const response = await page.goto(`https://${APP}/headers`);
    const headers = response!.headers();
    expect(headers["strict-transport-security"]).toContain("max-age=");
    expect(headers["content-security-policy"]).toContain("frame-ancestors 'none'");
    expect(headers["x-content-type-options"]).toBe("nosniff");
  });

  it(
    "WHEN the ID token expires THEN an XHR gets a JSON 401, the SPA's POST to the refresh path renews the session, and a navigation " +
      "refreshes too",
    async () => {
      const before = (await context.cookies(`https://${APP}/`)).find((c) => c.name === "__Host-oh-session")!.value;
      await sleep((TOKEN_TTL + 1) * 1000);
      const expired = await page.evaluate(async () => {
        const r = await fetch("/api/conversations", { headers: { accept: "application/json" } });
        return { status: r.status, body: await r.json() };
      });
      expect(expired).toEqual({ status: 401, body: expect.objectContaining({ error: "session_expired" }) });
      const refreshed = await page.evaluate(async () => {
        const r = await fetch("/_auth/refresh", { method: "POST" });
        const again = await fetch("/api/conversations", { method: "POST", headers: { accept: "application/json" } });
        return {
          status: r.status,
          again: again.status,
          echo: (await again.json()) as { method: string; identity: Record<string, string> },
        };
      });
      expect(refreshed.status).toBe(200);
      expect(refreshed.again).toBe(200);
      expect(refreshed.echo.identity["x-oh-user"]).toBe(SUB);
      expect(refreshed.echo.method).toBe("POST");
      const middle = (await context.cookies(`https://${APP}/`)).find((c) => c.name === "__Host-oh-session")!.value;
      expect(middle).not.toBe(before);
      await sleep((TOKEN_TTL + 1) * 1000);
      await page.goto(`https://${APP}/after-refresh?q=2`);
      expect(page.url()).toBe(`https://${APP}/after-refresh?q=2`);
      expect((await readEcho(page)).identity["x-oh-user"]).toBe(SUB);
      const after = (await context.cookies(`https://${APP}/`)).find((c) => c.name === "__Host-oh-session")!.value;
      expect(after).not.toBe(middle);
    },
  );

  it(
    "WHEN a runtime host is opened THEN the ticket hand-off gives it its own " + "cookie, identity for that host, and a WebSocket through",
    async () => {
      await page.goto(`https://${RUNTIME}/app?x=1`);
      expect(page.url()).toBe(`https://${RUNTIME}/app?x=1`);
      const echo = await readEcho(page);
      expect(echo.host).toBe(RUNTIME);
      expect(echo.identity["x-oh-sig"]).toBe(expectedSig(RUNTIME, echo.identity));
      expect(echo.cookie).not.toContain("oh-");
      const runtimeCookies = await context.cookies(`https://${RUNTIME}/`);
      expect(runtimeCookies.find((c) => c.name === "__Host-oh-runtime")).toMatchObject({
        domain: RUNTIME,
        secure: true,
        httpOnly: true,
        sameSite: "Lax",
      });
      expect(runtimeCookies.map((c) => c.name)).not.toContain("__Host-oh-session");
      const ws = await page.evaluate(
        (url) =>
          new Promise<string>((resolve, reject) => {
            const socket = new WebSocket(url);
            socket.onmessage = (m) => resolve(String(m.data));
            socket.onerror = () => reject(new Error("websocket failed"));
          }),
        `wss://${RUNTIME}/sockets/events/1?session_api_key=k`,
      );
      const wsEcho = JSON.parse(ws) as Echo;
      expect(wsEcho.url).toBe("/sockets/events/1?session_api_key=k");
      expect(wsEcho.identity["x-oh-user"]).toBe(SUB);
      expect(wsEcho.cookie).not.toContain("oh-");
    },
  );

  it(
    "WHEN the app shows another runtime host in an iframe THEN the hand-off " + "runs inside the frame and the sandbox page loads there",
    async () => {
      const framedHost = `40124-${SLUG}.${RUNTIME_DOMAIN}`;
      await page.goto(`https://${APP}/with-frame`);
      await page.evaluate(
        `document.body.appendChild(Object.assign(document.createElement("iframe"), { src: "https://${framedHost}/framed?y=2" })) && true`,
      );
      const frame = await (async () => {
        for (let i = 0; i < 100; i += 1) {
          const found = page.frames().find((f) => f.url() === `https://${framedHost}/framed?y=2`);
          if (found && (await found.locator("#echo").count()) === 1) return found;
          await sleep(100);
        }
        throw new Error(
          `the frame never loaded: ${page
            .frames()
            .map((f) => f.url())
            .join(", ")}`,
        );
      })();
      const echo = JSON.parse((await frame.locator("#echo").textContent()) ?? "{}") as Echo;
      expect(echo.host).toBe(framedHost);
      expect(echo.identity["x-oh-sig"]).toBe(expectedSig(framedHost, echo.identity));
      expect(page.url()).toBe(`https://${APP}/with-frame`);
    },
  );

  it(
    "WHEN a page on another user's runtime host plants the attacker's refresh token with Domain=<apex> and forces a logout THEN the " +
      "victim's refresh keeps the victim signed in, never the attacker",
    async () => {
      // The attacker (eve) signs in in her own browser and keeps her refresh token and session.
      const eveProfile = mkdtempSync(join(tmpdir(), "edge-e2e-eve-"));
      const eveContext = await chromium.launchPersistentContext(eveProfile, chromiumOptions());
      let eveRefresh = "";
      let eveSession = "";
      try {
        const evePage = eveContext.pages()[0] ?? (await eveContext.newPage());
        await evePage.goto(`https://${APP}/mine`);
        await evePage.fill('input[name="login"]', "eve");
        await evePage.fill('input[name="password"]', "any password");
        await Promise.all([evePage.waitForURL(`https://${APP}/mine`), evePage.click('button[type="submit"]')]);
        const eveCookies = await eveContext.cookies(`https://${APP}/`);
        eveRefresh = (await eveContext.cookies(`https://${APP}/_auth/refresh`)).find((c) => c.name.endsWith("oh-refresh"))!.value;
        eveSession = eveCookies.find((c) => c.name === "__Host-oh-session")!.value;
      } finally {
        await eveContext.close();
        rmSync(eveProfile, { recursive: true, force: true });
      }
      expect(eveRefresh.length).toBeGreaterThan(0);

      // The victim opens a page of eve's sandbox (her runtime host; the session key lets it through without identity).
      await page.goto(`https://${EVE_RUNTIME}/innocent?session_api_key=k`);
      expect((await readEcho(page)).host).toBe(EVE_RUNTIME);
      const apex = "Domain=example.test; Secure; SameSite=None";
      const tossed = [
        `__Secure-oh-refresh=${eveRefresh}; ${apex}; Path=/_auth/refresh`,
        `__Secure-oh-refresh=${eveRefresh}; ${apex}; Path=/`,
        `__Host-oh-refresh=${eveRefresh}; ${apex}; Path=/`,
        `__Host-oh-session=${eveSession}; ${apex}; Path=/`,
        `__Secure-oh-session=${eveSession}; ${apex}; Path=/`,
      ];
      await page.evaluate(`${JSON.stringify(tossed)}.forEach((c) => { document.cookie = c; })`);
      // The tossed cookies are real: the browser now sends them to the app host (the __Host- ones it refused).
      const tossedNames = async () =>
        (await context.cookies(`https://${APP}/_auth/refresh`))
          .filter((c) => c.domain === ".example.test")
          .map((c) => c.name)
          .sort();
      for (let i = 0; i < 50 && (await tossedNames()).length < 3; i += 1) await sleep(100);
      const planted = await tossedNames();
      expect(planted).toEqual(["__Secure-oh-refresh", "__Secure-oh-refresh", "__Secure-oh-session"]);

      // "Immediate" variant: the sandbox page sends the victim to the logout first; it is refused and nothing is cleared.
      await Promise.all([page.waitForURL(`https://${APP}/_auth/logout`), page.evaluate(`location.href = "https://${APP}/_auth/logout"`)]);
      expect(await page.locator("h1").textContent()).toBe("Sign out?");
      const logoutDecision = harness.decisions.filter((d) => d.host === APP && d.url === "/_auth/logout").at(-1)!;
      expect(logoutDecision.outcome).toBe(403);
      expect((await context.cookies(`https://${APP}/`)).map((c) => c.name)).toContain("__Host-oh-session");

      // The victim's next refresh (navigation, then the SPA's background POST) keeps the victim signed in.
      await page.goto(`https://${APP}/_auth/refresh?return=%2Fwho`);
      expect(page.url()).toBe(`https://${APP}/who`);
      expect((await readEcho(page)).identity["x-oh-user"]).toBe(SUB);
      const background = await page.evaluate(async () => {
        const r = await fetch("/_auth/refresh", { method: "POST" });
        const who = await fetch("/who", { headers: { accept: "application/json" } });
        return { status: r.status, who: ((await who.json()) as { identity: Record<string, string> }).identity["x-oh-user"] };
      });
      expect(background).toEqual({ status: 200, who: SUB });
      // The tossed copies were expired on the way.
      expect(
        (await context.cookies(`https://${APP}/_auth/refresh`)).filter((c) => c.domain === ".example.test" && c.name.includes("refresh")),
      ).toEqual([]);
    },
  );

  it(
    "WHEN a page on another user's runtime host floods the apex with big cookies THEN the app answers 431 once, expires them, and " +
      "the next load works as the victim",
    async () => {
      await page.goto(`https://${EVE_RUNTIME}/flood?session_api_key=k`);
      await page.evaluate(
        `for (let i = 0; i < 4; i += 1) document.cookie = "bomb" + i + "=" + "x".repeat(3900) + "; Domain=example.test; Path=/; ` +
          `Secure; SameSite=None"`,
      );
      // document.cookie reaches the browser's cookie store asynchronously.
      const bombs = async () => (await context.cookies(`https://${APP}/`)).filter((c) => c.name.startsWith("bomb")).length;
      for (let i = 0; i < 50 && (await bombs()) < 4; i += 1) await sleep(100);
      expect(await bombs()).toBe(4);
      const locked = await page.goto(`https://${APP}/after-flood`);
      expect(locked!.status()).toBe(431);
      expect((await context.cookies(`https://${APP}/`)).filter((c) => c.name.startsWith("bomb"))).toEqual([]);
      const recovered = await page.goto(`https://${APP}/after-flood`);
      expect(recovered!.status()).toBe(200);
      expect((await readEcho(page)).identity["x-oh-user"]).toBe(SUB);
    },
  );

  it(
    "WHEN another user's runtime host page or another site POSTs to and opens a WebSocket to the victim's runtime host THEN the edge " +
      "refuses them and nothing reaches the worker as the victim",
    async () => {
      const attempt = (target: string) =>
        page.evaluate(async (runtime) => {
          await fetch(`https://${runtime}/api/steal`, { method: "POST", credentials: "include", mode: "no-cors", body: "x" }).catch(
            () => undefined,
          );
          return new Promise<string>((resolve) => {
            const socket = new WebSocket(`wss://${runtime}/sockets/hijack`);
            socket.onmessage = () => resolve("message");
            socket.onerror = () => resolve("error");
            socket.onclose = () => resolve("closed");
          });
        }, target);
      const before = reached.length;

      // Same-site: a page of eve's sandbox. SameSite=Lax lets the victim's runtime cookie go along; the Origin check refuses.
      await page.goto(`https://${EVE_RUNTIME}/attack?session_api_key=k`);
      expect(await attempt(RUNTIME)).not.toBe("message");
      const sameSite = harness.decisions.filter((d) => d.host === RUNTIME && (d.url === "/api/steal" || d.url === "/sockets/hijack"));
      expect(sameSite.map((d) => [d.method, d.websocket, d.outcome])).toEqual([
        ["POST", false, 403],
        ["GET", true, 403],
      ]);

      // Cross-site: a page of another site. The browser keeps the Lax cookie back, so the edge sees no credential at all.
      await page.goto(`https://${EVIL}/`);
      expect(await attempt(RUNTIME)).not.toBe("message");
      const crossSite = harness.decisions
        .filter((d) => d.host === RUNTIME && (d.url === "/api/steal" || d.url === "/sockets/hijack"))
        .slice(2);
      expect(crossSite.map((d) => [d.method, d.websocket, d.outcome])).toEqual([
        ["POST", false, 401],
        ["GET", true, 401],
      ]);

      expect(reached.slice(before).filter((e) => e.url === "/api/steal" || e.url === "/sockets/hijack")).toEqual([]);
      // Control: the victim's own page on that host still writes and opens WebSockets as the victim.
      await page.goto(`https://${RUNTIME}/own`);
      const own = await page.evaluate(async () => {
        const r = await fetch("/api/own", { method: "POST", headers: { accept: "application/json" }, body: "x" });
        return ((await r.json()) as { identity: Record<string, string> }).identity["x-oh-user"];
      });
      expect(own).toBe(SUB);
    },
  );

  it("WHEN the user logs out THEN the cookies are gone, the provider session ended, and the app asks for a login again", async () => {
    await page.goto(`https://${APP}/_auth/logout`);
    await page.waitForURL((url) => url.href.startsWith(`${provider.issuer}/interaction/`));
    expect(await page.locator('input[name="login"]').count()).toBe(1);
    const names = (await context.cookies(`https://${APP}/_auth/refresh`)).map((c) => c.name);
    expect(names).not.toContain("__Host-oh-session");
    expect(names).not.toContain("__Host-oh-refresh");
    const api = await rawRequest(harness, APP, "/api/x");
    expect(api.status).toBe(401);
  });

  it("WHEN a signed-out user opens a deep link of about 5,000 characters THEN the login carries it and lands on it", async () => {
    const deep = `https://${APP}/conversations/deep?q=${randomBytes(3750).toString("base64url")}`;
    await page.goto(deep);
    expect(page.url().startsWith(`${provider.issuer}/`)).toBe(true);
    const login = (await context.cookies(`https://${APP}/`)).filter((c) => c.name.startsWith("__Host-oh-login"));
    expect(login.map((c) => c.name).sort()).toEqual(["__Host-oh-login", "__Host-oh-login-path"]);
    await page.fill('input[name="login"]', "ada");
    await page.fill('input[name="password"]', "any password");
    await Promise.all([page.waitForURL(deep), page.click('button[type="submit"]')]);
    const echo = await readEcho(page);
    expect(echo.url).toBe(deep.slice(`https://${APP}`.length));
    expect(echo.identity["x-oh-user"]).toBe(SUB);
  });
});
