/**
 * The app host through real nginx: the signed user reaches their own OpenHands (a contract fake),
 * started on demand by the spawner (a contract fake), with sandbox URLs rewritten on the way back.
 */
import { request as httpRequest } from "node:http";
import { FakeApp, type SandboxShape } from "./harness/fake-openhands";
import { FakeSpawner } from "./harness/fake-spawner";
import { identityHeaders, makeUser, newKey, signature } from "./harness/identity";
import { freePort, send, sleep } from "./harness/net";
import { APP_HOST, type RunningProxy, RUNTIME_DOMAIN, startProxy } from "./harness/proxy";
import { appAddress, expose, type Exposed } from "./harness/subnet";

const ada = makeUser("3f0c1d2e-0000-4000-8000-00000000a0a0", "ada@example.com");
const bob = makeUser("3f0c1d2e-0000-4000-8000-00000000b0b0", "bob@example.com");
const key = newKey();
const shape: SandboxShape = {
  id: "oh-sbx-x-1",
  gateway: "10.240.7.1",
  sessionKey: "sk-ada-1",
  agentPort: 32771,
  vscodePort: 32772,
  workerPorts: [32773, 32774],
};

let spawner: FakeSpawner;
let adaApp: FakeApp;
let bobApp: FakeApp;
let proxy: RunningProxy;

const asUser = (user = ada, extra: Record<string, string> = {}) => ({ ...identityHeaders(key, APP_HOST, user), ...extra });
const get = (path: string, headers: Record<string, string> = asUser(), method = "GET") =>
  send(proxy.port, APP_HOST, path, { headers, method });
// Each app is reached at its user's .2 on port 3000 (a relay to the fake on loopback): the proxy accepts no other app upstream.
const APP_PORT = 3000;
const exposed = new Map<FakeApp, Exposed>();
let nextNet = 21;
async function place(app: FakeApp): Promise<void> {
  exposed.set(app, await expose(app.port, appAddress(nextNet++), APP_PORT));
}
const running = (app: FakeApp) => () => ({ status: 200, body: { state: "running", upstream: exposed.get(app)!.url } });

beforeAll(async () => {
  spawner = new FakeSpawner(await freePort());
  await spawner.start();
  adaApp = new FakeApp(shape);
  bobApp = new FakeApp({ ...shape, gateway: "10.240.8.1", sessionKey: "sk-bob-1" });
  await adaApp.start();
  await bobApp.start();
  await place(adaApp);
  await place(bobApp);
  spawner.ensure.set(ada.slug, running(adaApp));
  spawner.ensure.set(bob.slug, running(bobApp));
  proxy = await startProxy({ spawnerPort: spawner.port, key, settings: { routeCacheSeconds: 30 } });
});

afterAll(async () => {
  await proxy?.stop();
  await Promise.all([spawner?.stop(), adaApp?.stop(), bobApp?.stop(), ...[...exposed.values()].map((e) => e.close())]);
});

describe("identity on the app host", () => {
  const refusals: Array<[string, () => Record<string, string>]> = [
    ["no identity at all", () => ({})],
    ["a forged signature", () => ({ ...asUser(), "x-oh-sig": signature(newKey(), APP_HOST, ada, Math.floor(Date.now() / 1000) + 60) })],
    ["another user's slug under Ada's signature", () => ({ ...asUser(), "x-oh-user-slug": bob.slug })],
    ["an expired identity", () => identityHeaders(key, APP_HOST, ada, Math.floor(Date.now() / 1000) - 30)],
    ["an identity signed for a runtime host", () => identityHeaders(key, `32771-${ada.slug}.${RUNTIME_DOMAIN}`, ada)],
    ["an identity valid for an hour", () => identityHeaders(key, APP_HOST, ada, Math.floor(Date.now() / 1000) + 3600)],
    ["a truncated signature", () => ({ ...asUser(), "x-oh-sig": asUser()["x-oh-sig"]!.slice(0, 40) })],
  ];

  it.each(refusals)("GIVEN %s THEN 401 and neither the spawner nor any app is asked", async (_name, headers) => {
    spawner.resetCounts();
    const before = adaApp.requests.length + bobApp.requests.length;
    const reply = await get("/api/v1/sandboxes/search", headers());
    expect(reply.status).toBe(401);
    expect(reply.json.error).toBe("unauthenticated");
    expect(spawner.counts.ensure).toBe(0);
    expect(adaApp.requests.length + bobApp.requests.length).toBe(before);
  });

  it.each([
    ["a sandbox page's Origin", { Origin: `https://32771-${"a".repeat(16)}.${RUNTIME_DOMAIN}` }],
    ["Origin null", { Origin: "null" }],
    ["Sec-Fetch-Site same-site without Origin", { "Sec-Fetch-Site": "same-site" }],
  ])("GIVEN a signed POST with %s THEN 403 cross_site and the app is not contacted (CSRF)", async (_name, extra) => {
    const before = adaApp.requests.length;
    const reply = await get("/api/v1/settings", asUser(ada, extra as Record<string, string>), "POST");
    expect(reply.status).toBe(403);
    expect(reply.json.error).toBe("cross_site");
    expect(adaApp.requests.length).toBe(before);
  });

  it.each([
    ["the app's own Origin", { Origin: `https://${APP_HOST}` }],
    ["Sec-Fetch-Site same-origin", { "Sec-Fetch-Site": "same-origin" }],
    ["no Origin at all (API client)", {}],
  ])("GIVEN a signed POST with %s THEN it reaches the app", async (_name, extra) => {
    const reply = await get("/echo", asUser(ada, extra as Record<string, string>), "POST");
    expect(reply.status).toBe(200);
  });

  it("GIVEN a mixed-case Host THEN 400 before anything else", async () => {
    const reply = await send(proxy.port, "OpenHands.example.test", "/", { headers: asUser() });
    expect(reply.status).toBe(400);
  });

  it("GIVEN a browser without identity THEN a small HTML page, not JSON", async () => {
    const reply = await get("/", { Accept: "text/html,application/xhtml+xml" });
    expect(reply.status).toBe(401);
    expect(reply.headers["content-type"]).toContain("text/html");
    expect(reply.body).toContain("You are not signed in");
  });
});

// Each nginx worker remembers identities that verified, until they expire: the cache must not
// weaken the check (replay after expiry, a tampered signature or field riding on a cached entry).
describe("identity cache on the app host", () => {
  const nowSeconds = () => Math.floor(Date.now() / 1000);
  // Several requests, each on its own connection, so both nginx workers see (and cache) the identity.
  const many = async (headers: Record<string, string>, path = "/echo") => Promise.all(Array.from({ length: 8 }, () => get(path, headers)));

  it("GIVEN an identity that passed and is cached THEN once it has expired it is refused, and the app is not contacted", async () => {
    const strict = await startProxy({ spawnerPort: spawner.port, key, settings: { identitySkewSeconds: 0 } });
    try {
      const exp = nowSeconds() + 2;
      const headers = identityHeaders(key, APP_HOST, ada, exp);
      const fresh = await Promise.all(Array.from({ length: 8 }, () => send(strict.port, APP_HOST, "/echo", { headers })));
      expect(fresh.map((r) => r.status)).toEqual(Array(8).fill(200));
      while (nowSeconds() <= exp) await sleep(100);
      const before = adaApp.requests.length;
      const late = await Promise.all(Array.from({ length: 8 }, () => send(strict.port, APP_HOST, "/echo", { headers })));
      expect(late.map((r) => r.status)).toEqual(Array(8).fill(401));
      expect(late[0]!.json.error).toBe("unauthenticated");
      expect(adaApp.requests.length).toBe(before);
    } finally {
      await strict.stop();
    }
  });

  const flip = (c: string) => (c === "A" ? "B" : "A");
  it.each([
    [
      "the signature's last character changed",
      (h: Record<string, string>) => ({ ...h, "x-oh-sig": h["x-oh-sig"]!.slice(0, 42) + flip(h["x-oh-sig"]!.slice(42)) }),
    ],
    [
      "the signature's first character changed",
      (h: Record<string, string>) => ({ ...h, "x-oh-sig": flip(h["x-oh-sig"]!.slice(0, 1)) + h["x-oh-sig"]!.slice(1) }),
    ],
    ["another slug under the cached signature", (h: Record<string, string>) => ({ ...h, "x-oh-user-slug": bob.slug })],
    ["another email under the cached signature", (h: Record<string, string>) => ({ ...h, "x-oh-email": "eve@example.com" })],
    ["a later expiry under the cached signature", (h: Record<string, string>) => ({ ...h, "x-oh-exp": String(Number(h["x-oh-exp"]) + 1) })],
    [
      "the slug header repeated",
      (h: Record<string, string>) => ({ ...h, "x-oh-user-slug": [h["x-oh-user-slug"]!, bob.slug] as unknown as string }),
    ],
  ])("GIVEN a valid identity cached THEN %s is refused (401) and no app is contacted", async (_name, tamper) => {
    const headers = asUser();
    expect((await many(headers)).map((r) => r.status)).toEqual(Array(8).fill(200));
    const before = adaApp.requests.length + bobApp.requests.length;
    const replies = await many(tamper(headers));
    expect(replies.map((r) => r.status)).toEqual(Array(8).fill(401));
    expect(adaApp.requests.length + bobApp.requests.length).toBe(before);
  });

  it("GIVEN an identity cached on the app host THEN the same headers on a runtime host are refused", async () => {
    const headers = asUser();
    expect((await many(headers)).map((r) => r.status)).toEqual(Array(8).fill(200));
    const runtimeHost = `32771-${ada.slug}.${RUNTIME_DOMAIN}`;
    const replies = await Promise.all(Array.from({ length: 4 }, () => send(proxy.port, runtimeHost, "/", { headers })));
    expect(replies.map((r) => r.status)).toEqual(Array(4).fill(401));
  });
});

describe("routing each user to their own OpenHands", () => {
  it("GIVEN Ada and Bob THEN each reaches their own app, and the spawner is asked once per user", async () => {
    spawner.resetCounts();
    const a = await get("/echo", asUser(ada));
    const b = await get("/echo", asUser(bob));
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(adaApp.requests.at(-1)?.url).toBe("/echo");
    expect(bobApp.requests.at(-1)?.url).toBe("/echo");
    for (let i = 0; i < 10; i += 1) await get("/health", asUser(ada));
    expect(spawner.counts.ensure).toBeLessThanOrEqual(2);
    expect(spawner.ensureBodies.at(-1)?.body).toEqual(expect.objectContaining({ sub: expect.any(String), email: expect.any(String) }));
  });

  it("GIVEN identity headers and our cookies THEN the app sees neither, other cookies pass", async () => {
    const reply = await get(
      "/echo",
      asUser(ada, {
        Cookie: "__Host-oh-session=secret; theme=dark; __Secure-oh-refresh=r",
        "X-Oh-Extra": "spoofed",
      }),
    );
    const seen = reply.json.headers as Record<string, string>;
    expect(Object.keys(seen).filter((h) => h.startsWith("x-oh-"))).toEqual([]);
    expect(seen.cookie).toBe("theme=dark");
    expect(seen.host).toBe(APP_HOST);
  });

  it("GIVEN 150 filler headers with x-oh-* headers after them THEN the app still sees none of ours", async () => {
    const filler: Record<string, string> = {};
    for (let i = 0; i < 150; i += 1) filler[`x-filler-${i}`] = "1";
    const reply = await get("/echo", { ...asUser(ada), ...filler, "x-oh-role": "admin" });
    expect(reply.status).toBe(200);
    expect(Object.keys(reply.json.headers).filter((h) => h.startsWith("x-oh-"))).toEqual([]);
  });

  it("GIVEN requests THEN activity reaches the spawner in batches with Ada's slug", async () => {
    await get("/health", asUser(ada));
    for (let i = 0; i < 40 && !spawner.activity.some((e) => e.slug === ada.slug); i += 1) await sleep(100);
    const entry = spawner.activity.find((e) => e.slug === ada.slug);
    expect(entry?.at).toBeGreaterThan(Date.now() - 60_000);
    expect(spawner.counts.activity).toBeLessThan(20);
    // A 204 without Content-Length is complete: the report is not left waiting for a close (past the 1 s spawner
    // timeout of these tests), nor sent again.
    await sleep(1500);
    expect(proxy.errorLog()).not.toMatch(/activity.*(timeout|failed)/i);
    expect(spawner.activity.filter((e) => e.slug === ada.slug && e.at === entry!.at)).toHaveLength(1);
  });
});

describe("starting, capacity, spawner down, app gone", () => {
  const carol = makeUser("3f0c1d2e-0000-4000-8000-00000000c0c0", "carol@example.com");

  it("GIVEN Carol's app is starting THEN a browser gets a page that reloads itself, an API client JSON with Retry-After", async () => {
    spawner.ensure.set(carol.slug, () => ({ status: 202, body: { state: "starting", retryAfterMs: 1500 } }));
    const page = await get("/", { ...asUser(carol), Accept: "text/html" });
    expect(page.status).toBe(503);
    expect(page.body).toContain("Starting your OpenHands");
    expect(page.body).toContain('<noscript><meta http-equiv="refresh" content="2"></noscript>');
    expect(page.headers["retry-after"]).toBe("2");
    const api = await get("/api/v1/sandboxes/search", asUser(carol));
    expect(api.status).toBe(503);
    expect(api.json).toEqual({ error: "starting", message: expect.any(String), retryAfterMs: 2000 });
  });

  it("GIVEN Carol's app is running now THEN the next request reaches it (starting was not cached)", async () => {
    spawner.ensure.set(carol.slug, running(adaApp));
    expect((await get("/health", asUser(carol))).status).toBe(200);
  });

  it("GIVEN the host is at capacity THEN 503 with the spawner's message", async () => {
    const dan = makeUser("dan-sub", "dan@example.com");
    spawner.ensure.set(dan.slug, () => ({ status: 503, body: { error: "capacity", message: "20 of 20 running" } }));
    const reply = await get("/", asUser(dan));
    expect(reply.status).toBe(503);
    expect(reply.json).toMatchObject({ error: "capacity", message: "20 of 20 running" });
  });

  it("GIVEN the spawner is down THEN 503 with Retry-After, and it recovers when the spawner returns", async () => {
    const erin = makeUser("erin-sub", "erin@example.com");
    spawner.ensure.set(erin.slug, running(adaApp));
    await spawner.stop();
    const down = await get("/", asUser(erin));
    expect(down.status).toBe(503);
    expect(down.json.error).toBe("spawner_unavailable");
    expect(down.headers["retry-after"]).toBe("5");
    await spawner.start();
    const back = await get("/health", asUser(erin));
    expect(back.status).toBe(200);
  });

  it("GIVEN Frank's app vanished THEN the spawner is asked again at once; while it names the address: 502, a reloading page", async () => {
    const frank = makeUser("frank-sub", "frank@example.com");
    const frankApp = new FakeApp(shape);
    await frankApp.start();
    await place(frankApp);
    spawner.ensure.set(frank.slug, running(frankApp));
    expect((await get("/health", asUser(frank))).status).toBe(200);
    const port = frankApp.port;
    await frankApp.stop();
    spawner.resetCounts();
    const gone = await get("/api/v1/sandboxes/search", asUser(frank));
    expect(gone.status).toBe(502);
    expect(gone.json.error).toBe("upstream_unreachable");
    expect(spawner.counts.ensure).toBe(1);
    // The route was forgotten: the next request asks again (and its failure once more); a browser's page reloads itself.
    const page = await get("/", { ...asUser(frank), Accept: "text/html" });
    expect(page.status).toBe(502);
    expect(page.body).toContain('<meta http-equiv="refresh" content="3">');
    expect(spawner.counts.ensure).toBe(3);
    await frankApp.start(port);
    expect((await get("/health", asUser(frank))).status).toBe(200);
    expect(spawner.counts.ensure).toBe(4);
    await frankApp.stop();
  });
});

describe("rewriting sandbox URLs in the app's responses", () => {
  const publicUrl = (port: number) => `https://${port}-${ada.slug}.${RUNTIME_DOMAIN}`;

  it("GIVEN sandboxes/search THEN every exposed URL is public, Content-Length fixed", async () => {
    const reply = await get("/api/v1/sandboxes/search");
    expect(reply.status).toBe(200);
    const urls = (reply.json.items[0].exposed_urls as Array<{ name: string; url: string }>).map((u) => u.url);
    expect(urls).toEqual([
      publicUrl(32771),
      `${publicUrl(32772)}/?tkn=sk-ada-1&folder=/workspace/project`,
      publicUrl(32773),
      publicUrl(32774),
    ]);
    expect(reply.body).not.toContain("10.240.7.1");
    expect(reply.headers["content-length"]).toBeUndefined();
  });

  it("GIVEN sandboxes?id= and app-conversations THEN the list answers are rewritten too", async () => {
    const sandboxes = await get("/api/v1/sandboxes?id=oh-sbx-x-1");
    expect(sandboxes.json[0].exposed_urls[0].url).toBe(publicUrl(32771));
    const conversations = await get("/api/v1/app-conversations/search");
    expect(conversations.json.items[0].conversation_url).toBe(`${publicUrl(32771)}/api/conversations/c0ffee00c0ffee00c0ffee00c0ffee00`);
    expect(conversations.json.items[0].session_api_key).toBe("sk-ada-1");
  });

  it("GIVEN Bob's app THEN his URLs carry his slug", async () => {
    const reply = await get("/api/v1/sandboxes/search", asUser(bob));
    expect(reply.json.items[0].exposed_urls[0].url).toBe(`https://32771-${bob.slug}.${RUNTIME_DOMAIN}`);
  });

  it("GIVEN other paths THEN the body is passed byte for byte", async () => {
    const reply = await get("/echo?u=http://10.240.7.1:32771/");
    expect(reply.json.url).toBe("/echo?u=http://10.240.7.1:32771/");
  });

  it("GIVEN stream-start THEN the first task arrives before the app finishes, and the split URL is rewritten", async () => {
    const headers = { ...asUser(), "Content-Type": "application/json" };
    const pieces: string[] = [];
    let firstAt = 0;
    const done = new Promise<string>((resolve, reject) => {
      const req = httpRequest(
        {
          host: "127.0.0.1",
          port: proxy.port,
          path: "/api/v1/app-conversations/stream-start",
          method: "POST",
          agent: false,
          setHost: false,
          headers: { Host: APP_HOST, ...headers },
        },
        (res) => {
          expect(res.headers["transfer-encoding"]).toBe("chunked");
          res.on("data", (d: Buffer) => {
            if (!firstAt) firstAt = Date.now();
            pieces.push(d.toString());
            if (pieces.join("").includes('"status":"WORKING"')) adaApp.releaseStream();
          });
          res.on("end", () => resolve(pieces.join("")));
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end("{}");
    });
    const body = await done;
    expect(firstAt).toBeGreaterThan(0);
    const tasks = JSON.parse(body) as Array<{ status: string; agent_server_url: string | null }>;
    expect(tasks.map((t) => t.status)).toEqual(["WORKING", "READY"]);
    expect(tasks[1]?.agent_server_url).toBe(publicUrl(32771));
    expect(body).not.toContain("10.240.7.1");
  });

  it("GIVEN a non-JSON download on a rewritten path THEN it passes byte for byte with its Content-Length", async () => {
    const reply = await get("/api/v1/app-conversations/c0ffee00c0ffee00c0ffee00c0ffee00/download");
    expect(reply.headers["content-type"]).toBe("application/zip");
    expect(reply.body).toContain('"url":"http://10.240.7.1:32771/"');
    expect(reply.headers["content-length"]).toBe(String(Buffer.byteLength(reply.body, "latin1")));
  });

  it("GIVEN a client asking for gzip THEN the app is asked without Accept-Encoding on rewritten paths", async () => {
    await get("/api/v1/sandboxes/search", asUser(ada, { "Accept-Encoding": "gzip" }));
    expect(adaApp.requests.at(-1)?.headers["accept-encoding"]).toBeUndefined();
  });
});
