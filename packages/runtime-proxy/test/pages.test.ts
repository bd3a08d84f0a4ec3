/**
 * The pages a person meets from the proxy (README "Pages"), in the real nginx with the Lua modules: the starting
 * page with the start's progress, the per-user progress endpoint its script reads, a failed start, the host at
 * capacity and the refusals; and the attacks on them (reading another user's progress, an open redirect through
 * the page's links, markup from the spawner's answer).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PAGE_LAYOUT, PAGE_STYLE, pageStyleSource } from "@openhands-team/contracts";
import { pageAssetsLua } from "../src/page-assets";
import { FakeSpawner } from "./harness/fake-spawner";
import { identityHeaders, makeUser, newKey } from "./harness/identity";
import { freePort, send, sleep } from "./harness/net";
import { APP_HOST, type RunningProxy, RUNTIME_DOMAIN, startProxy } from "./harness/proxy";

const key = newKey();
const alice = makeUser("a1a1a1a1-0000-4000-8000-000000000001", "alice@example.com");
const bob = makeUser("b2b2b2b2-0000-4000-8000-000000000002", "bob@example.com");
let spawner: FakeSpawner;
let proxy: RunningProxy;

const signed = (user: typeof alice, extra: Record<string, string> = {}) => ({ ...identityHeaders(key, APP_HOST, user), ...extra });
const page = (path: string, user = alice) => send(proxy.port, APP_HOST, path, { headers: signed(user, { Accept: "text/html" }) });
const progress = (stage: string, elapsedMs: number, typicalMs: number | null) => ({
  state: "starting",
  stage,
  stages: ["waiting", "database", "folders", "network", "docker-api", "relay", "container", "health", "settings"],
  elapsedMs,
  typicalMs,
  requestId: "0123456789abcdef0123456789abcdef",
  failure: null,
});

beforeAll(async () => {
  spawner = new FakeSpawner(await freePort());
  await spawner.start();
  proxy = await startProxy({ spawnerPort: spawner.port, key });
});

afterAll(async () => {
  await proxy?.stop();
  await spawner?.stop();
});

describe("the pages' look comes from packages/contracts", () => {
  it(
    "GIVEN the contracts' stylesheet and layout THEN the proxy's Lua copy " + "(lua/oh/page_assets.lua) is exactly what the build writes",
    () => {
      const expected = pageAssetsLua({ style: PAGE_STYLE, layout: PAGE_LAYOUT });
      expect(readFileSync(join(__dirname, "..", "lua", "oh", "page_assets.lua"), "utf8")).toBe(expected);
    },
  );
});

describe("the starting page", () => {
  it(
    "GIVEN Alice's start in the container stage WHEN her browser asks for a page THEN it names the stage, the time so far and the " +
      "usual time, with the script and a no-script reload",
    async () => {
      spawner.ensure.set(alice.slug, () => ({
        status: 202,
        body: { state: "starting", retryAfterMs: 2000, progress: progress("container", 9_000, 30_000) },
      }));
      const reply = await page("/conversations/42?tab=files");
      expect(reply.status).toBe(503);
      expect(reply.headers["retry-after"]).toBe("2");
      expect(reply.headers["content-type"]).toBe("text/html; charset=utf-8");
      expect(reply.body).toContain("<h1>Starting your OpenHands</h1>");
      expect(reply.body).toContain('<li data-stage="container" class="now">Starting your OpenHands</li>');
      expect(reply.body).toContain("Started 9 s ago. A start usually takes about 30 s here.");
      expect(reply.body).toContain('data-next="/conversations/42?tab=files"');
      expect(reply.body).toContain('<script src="/_oh/pages/starting.js" defer></script>');
      expect(reply.body).toContain('<noscript><meta http-equiv="refresh" content="2"></noscript>');
      // The spawner got the request's id: it names the start in the logs and on the page of a failed start.
      expect(spawner.ensureBodies.at(-1)?.body).toMatchObject({ sub: alice.sub, requestId: expect.stringMatching(/^[0-9a-f]{32}$/) });
    },
  );

  it("GIVEN the page's own headers THEN a strict CSP: its one stylesheet by hash, scripts only from this origin, no framing", async () => {
    const reply = await page("/");
    const csp = String(reply.headers["content-security-policy"]);
    expect(csp).toContain(`style-src ${pageStyleSource()}`);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe-inline");
    expect(reply.body).not.toMatch(/<script>|<script [^>]*>[^<]/);
    expect(reply.body).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
  });

  it(
    "GIVEN a request for //evil.example/x or /\\evil.example WHEN the " + "starting page is served THEN its next path is / (open redirect)",
    async () => {
      for (const path of ["//evil.example/x", "///evil.example", "/\\evil.example"]) {
        const reply = await page(path);
        expect(reply.status).toBe(503);
        expect(reply.body).not.toContain("evil.example");
        expect(reply.body).toContain('data-next="/"');
      }
      // An encoded backslash or slash is a path on this host, as the browser resolves it.
      for (const path of ["/%5Cevil.example", "/%2F%2Fevil.example"]) {
        const next = /data-next="([^"]*)"/.exec((await page(path)).body)?.[1] ?? "";
        expect(new URL(next, `https://${APP_HOST}`).host).toBe(APP_HOST);
      }
    },
  );

  it("GIVEN the starting page's script THEN the proxy serves it as JavaScript from the app host", async () => {
    const reply = await send(proxy.port, APP_HOST, "/_oh/pages/starting.js", { headers: signed(alice) });
    expect(reply.status).toBe(200);
    expect(reply.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(reply.body).toContain('fetch("/_oh/start-status"');
  });

  it("GIVEN an API client while starting THEN JSON 503 as before", async () => {
    const reply = await send(proxy.port, APP_HOST, "/api/v1/settings", { headers: signed(alice) });
    expect(reply.status).toBe(503);
    expect(reply.json).toEqual({ error: "starting", message: expect.any(String), retryAfterMs: 2000 });
  });
});

describe("GET /_oh/start-status: the signed user's own start and nobody else's", () => {
  beforeAll(() => {
    spawner.progress.set(alice.slug, () => ({
      status: 200,
      body: { ...progress("health", 20_000, 31_000), failure: { stage: "x", message: "internal 10.0.0.5" } },
    }));
    spawner.progress.set(bob.slug, () => ({ status: 200, body: progress("database", 1_000, 31_000) }));
  });

  it(
    "GIVEN Alice WHEN she asks THEN the state, stage and times of her " + "start, and nothing else (no failure details, no request id)",
    async () => {
      const reply = await send(proxy.port, APP_HOST, "/_oh/start-status", { headers: signed(alice) });
      expect(reply.status).toBe(200);
      expect(reply.headers["cache-control"]).toBe("no-store");
      expect(reply.json).toEqual({ state: "starting", stage: "health", elapsedMs: 20_000, typicalMs: 31_000 });
      expect(spawner.progressAsked.at(-1)).toBe(alice.slug);
    },
  );

  it("GIVEN Bob WHEN he names Alice in the query or an unsigned header THEN he still reads only his own start", async () => {
    spawner.progressAsked.length = 0;
    for (const path of [`/_oh/start-status?slug=${alice.slug}`, `/_oh/start-status?user=${alice.sub}`]) {
      const reply = await send(proxy.port, APP_HOST, path, { headers: signed(bob, { "x-oh-target-slug": alice.slug }) });
      expect(reply.status).toBe(200);
      expect(reply.json.stage).toBe("database");
    }
    expect(new Set(spawner.progressAsked)).toEqual(new Set([bob.slug]));
  });

  it("GIVEN Bob's signature with Alice's slug or sub in the identity headers THEN 401 and the spawner is not asked", async () => {
    spawner.progressAsked.length = 0;
    for (const forged of [
      signed(bob, { "x-oh-user-slug": alice.slug }),
      signed(bob, { "x-oh-user": alice.sub }),
      { "x-oh-user-slug": alice.slug },
      {},
    ]) {
      const reply = await send(proxy.port, APP_HOST, "/_oh/start-status", { headers: forged });
      expect(reply.status).toBe(401);
    }
    expect(spawner.progressAsked).toEqual([]);
  });

  it("GIVEN a runtime host or another Host THEN no progress is served there", async () => {
    const runtime = `32771-${alice.slug}.${RUNTIME_DOMAIN}`;
    const onRuntime = await send(proxy.port, runtime, "/_oh/start-status", { headers: { ...identityHeaders(key, runtime, alice) } });
    expect(onRuntime.json?.state).toBeUndefined();
    const other = await send(proxy.port, "10.0.0.1", "/_oh/start-status");
    expect(other.status).toBe(404);
  });
});

describe("a failed start, the host at capacity", () => {
  it("GIVEN Alice's start failed in the database stage THEN a page in words, a retry of the same path and the request id", async () => {
    spawner.ensure.set(alice.slug, () => ({
      status: 502,
      body: {
        error: "start_failed",
        message: "preparing the user database failed: connect ECONNREFUSED 10.0.3.4:5432",
        stage: "database",
        requestId: "feedc0de",
      },
    }));
    const reply = await page("/conversations/7");
    expect(reply.status).toBe(502);
    expect(reply.body).toContain("Your OpenHands could not start");
    expect(reply.body).toContain("Your conversation storage (the database) could not be prepared.");
    expect(reply.body).toContain('<a class="button" href="/conversations/7">Try again</a>');
    expect(reply.body).toContain('<code id="oh-request-id">feedc0de</code>');
    // Internal details stay in the logs.
    expect(reply.body).not.toContain("ECONNREFUSED");
    await sleep(500); // the proxy's own log lines are written from a timer
    expect(proxy.errorLog()).toMatch(/start of [a-z2-7]{16} failed at database request_id=feedc0de/);
    const api = await send(proxy.port, APP_HOST, "/api/v1/settings", { headers: signed(alice) });
    expect(api.status).toBe(502);
    expect(api.json).toMatchObject({ error: "start_failed", stage: "database", requestId: "feedc0de" });
  });

  it("GIVEN a spawner answer with markup in the stage and the request id THEN neither reaches the page", async () => {
    spawner.ensure.set(alice.slug, () => ({
      status: 502,
      body: { error: "start_failed", message: "x", stage: "<img src=x onerror=alert(1)>", requestId: '"><script>alert(1)</script>' },
    }));
    const reply = await page("/");
    expect(reply.status).toBe(502);
    expect(reply.body).not.toContain("<img");
    expect(reply.body).not.toContain("<script>alert");
    expect(reply.body).not.toContain("oh-request-id");
    expect(reply.body).toContain("Something went wrong while starting your OpenHands.");
  });

  it("GIVEN a request for //evil.example/ WHEN the start failed THEN the retry link stays on this host", async () => {
    spawner.ensure.set(alice.slug, () => ({
      status: 502,
      body: { error: "start_failed", message: "x", stage: "container", requestId: "r1" },
    }));
    const reply = await page("//evil.example/");
    expect(reply.body).toContain('<a class="button" href="/">Try again</a>');
    expect(reply.body).not.toContain("evil.example");
  });

  it("GIVEN the host is full THEN the page says how many run and what happens next, and retries by itself", async () => {
    spawner.ensure.set(alice.slug, () => ({
      status: 503,
      body: { error: "capacity", message: "this host already runs 20", details: { reason: "apps", running: 19, starting: 1, max: 20 } },
    }));
    const reply = await page("/");
    expect(reply.status).toBe(503);
    expect(reply.headers["retry-after"]).toBe("60");
    expect(reply.body).toContain("The server is full: 19 of 20 OpenHands are running or starting.");
    expect(reply.body).toContain('<meta http-equiv="refresh" content="60">');
    const api = await send(proxy.port, APP_HOST, "/api/v1/settings", { headers: signed(alice) });
    expect(api.json).toMatchObject({ error: "capacity", message: "this host already runs 20" });
  });
});

describe("refusals in words with the next step", () => {
  it("GIVEN no identity on the app host THEN 'You are not signed in' and a sign-in link", async () => {
    const reply = await send(proxy.port, APP_HOST, "/x", { headers: { Accept: "text/html" } });
    expect(reply.status).toBe(401);
    expect(reply.body).toContain('<a class="button" href="/">Sign in</a>');
  });

  it(
    "GIVEN no credential on a runtime host THEN 'Open this from OpenHands' with " +
      "a link back to the app host; nginx's frame-ancestors stays",
    async () => {
      const runtime = `32771-${alice.slug}.${RUNTIME_DOMAIN}`;
      const reply = await send(proxy.port, runtime, "/", { headers: { Accept: "text/html" } });
      expect(reply.status).toBe(401);
      expect(reply.body).toContain("Open this from OpenHands");
      expect(reply.body).toContain(`<a class="button" href="https://${APP_HOST}/">Go to your OpenHands</a>`);
      const csp = ([] as string[]).concat(reply.headers["content-security-policy"] ?? []).join(", ");
      expect(csp).toContain(`frame-ancestors https://${APP_HOST}`);
    },
  );

  it("GIVEN Alice on a sandbox port nobody runs THEN 'This workspace is not running' with the way back", async () => {
    const runtime = `40001-${alice.slug}.${RUNTIME_DOMAIN}`;
    const reply = await send(proxy.port, runtime, "/", { headers: { ...identityHeaders(key, runtime, alice), Accept: "text/html" } });
    expect(reply.status).toBe(404);
    expect(reply.body).toContain("This workspace is not running");
    expect(reply.body).toContain("Open the conversation in OpenHands again to start it");
  });
});
