/**
 * Runtime hosts through real nginx: "<port>-<slug>.<runtime domain>" reaches a sandbox port only for
 * its owner (signed identity) or with the sandbox's session key; the rest is refused.
 */
import { createHash } from "node:crypto";
import WebSocket from "ws";
import { FakeAgentServer } from "./harness/fake-openhands";
import { FakeSpawner } from "./harness/fake-spawner";
import { identityHeaders, makeUser, newKey, signature } from "./harness/identity";
import { freePort, send } from "./harness/net";
import { APP_HOST, type RunningProxy, RUNTIME_DOMAIN, startProxy } from "./harness/proxy";
import { expose, type Exposed, sandboxAddress } from "./harness/subnet";

const ada = makeUser("runtime-ada", "ada@example.com");
const bob = makeUser("runtime-bob", "bob@example.com");
const key = newKey();
const ADA_KEY = "ada-session-key-0123456789abcdefghijklmnopq";
const BOB_KEY = "bob-session-key-0123456789abcdefghijklmnopq";
const sha = (s: string) => createHash("sha256").update(s).digest("hex");
const CONVERSATION = "c0ffee00c0ffee00c0ffee00c0ffee00";

let spawner: FakeSpawner;
let adaAgent: FakeAgentServer;
let adaWorker: FakeAgentServer;
let bobAgent: FakeAgentServer;
let proxy: RunningProxy;

const host = (port: number, slug: string) => `${port}-${slug}.${RUNTIME_DOMAIN}`;
let adaHost = "";
let adaWorkerHost = "";
let bobHost = "";

// Ada's sandboxes in 10.240.11.0/24, Bob's in 10.240.12.0/24 (the fakes listen on loopback; a relay
// exposes each at a sandbox address, since the proxy accepts no other upstream).
const ADA_NET = 11;
const BOB_NET = 12;
const exposed = new Map<FakeAgentServer, Exposed>();
let nextSandbox = 0;

async function place(server: FakeAgentServer, net: number): Promise<void> {
  exposed.set(server, await expose(server.port, sandboxAddress(net, nextSandbox++)));
}

function route(owner: string, server: FakeAgentServer, kind: "agent-server" | "worker", sessionKey: string) {
  const at = exposed.get(server);
  if (!at) throw new Error(`${server.name} was not placed in a user subnet`);
  return { owner, upstream: at.url, kind, sessionKeySha256: sha(sessionKey) };
}

const signed = (h: string, user = ada, extra: Record<string, string> = {}) => ({ ...identityHeaders(key, h, user), ...extra });
const contacts = () => adaAgent.requests.length + adaWorker.requests.length + bobAgent.requests.length;

beforeAll(async () => {
  spawner = new FakeSpawner(await freePort());
  await spawner.start();
  adaAgent = new FakeAgentServer(ADA_KEY, "ada-agent");
  adaWorker = new FakeAgentServer(ADA_KEY, "ada-worker");
  bobAgent = new FakeAgentServer(BOB_KEY, "bob-agent");
  await Promise.all([adaAgent.start(), adaWorker.start(), bobAgent.start()]);
  await place(adaAgent, ADA_NET);
  await place(adaWorker, ADA_NET);
  await place(bobAgent, BOB_NET);
  adaHost = host(adaAgent.port, ada.slug);
  adaWorkerHost = host(adaWorker.port, ada.slug);
  bobHost = host(bobAgent.port, bob.slug);
  spawner.routes.set(adaHost, route(ada.slug, adaAgent, "agent-server", ADA_KEY));
  spawner.routes.set(adaWorkerHost, route(ada.slug, adaWorker, "worker", ADA_KEY));
  spawner.routes.set(bobHost, route(bob.slug, bobAgent, "agent-server", BOB_KEY));
  // What the spawner answers for Bob's published port put under Ada's slug: the port is Bob's.
  spawner.routes.set(host(bobAgent.port, ada.slug), route(bob.slug, bobAgent, "agent-server", BOB_KEY));
  proxy = await startProxy({ spawnerPort: spawner.port, key, settings: { negativeCacheSeconds: 2 } });
});

afterAll(async () => {
  await proxy?.stop();
  await Promise.all([
    spawner?.stop(),
    adaAgent?.stop(),
    adaWorker?.stop(),
    bobAgent?.stop(),
    ...[...exposed.values()].map((e) => e.close()),
  ]);
});

describe("strict host parsing: refused before any lookup", () => {
  const SLUG = "abcdefghijklmnop";
  const malformed: Array<[string, string]> = [
    ["an extra label", `x.32771-${SLUG}.${RUNTIME_DOMAIN}`],
    ["upper case", `32771-${SLUG.toUpperCase()}.${RUNTIME_DOMAIN}`],
    ["an upper-case domain", `32771-${SLUG}.RUNTIME.example.test`],
    ["a leading zero", `032771-${SLUG}.${RUNTIME_DOMAIN}`],
    ["port 0", `0-${SLUG}.${RUNTIME_DOMAIN}`],
    ["an out-of-range port", `65536-${SLUG}.${RUNTIME_DOMAIN}`],
    ["unicode in the slug", `32771-abcdefghijklmn\u00e9.${RUNTIME_DOMAIN}`],
    ["punycode in the slug", `32771-xn--abcdefghijk.${RUNTIME_DOMAIN}`],
    ["'..'", `32771-${SLUG}..${RUNTIME_DOMAIN}`],
    ["a short slug", `32771-abcdef.${RUNTIME_DOMAIN}`],
    ["no port", `${SLUG}.${RUNTIME_DOMAIN}`],
    ["a port in the Host header", `32771-${SLUG}.${RUNTIME_DOMAIN}:443`],
  ];

  it.each(malformed)("GIVEN %s THEN 400 (or nginx's own 400) and no spawner call", async (_name, badHost) => {
    spawner.resetCounts();
    const before = contacts();
    const reply = await send(proxy.port, badHost, "/api/conversations", { headers: { "X-Session-API-Key": ADA_KEY } });
    expect(reply.status).toBe(400);
    expect(spawner.counts.resolve).toBe(0);
    expect(contacts()).toBe(before);
  });

  it.each([
    ["the app host in the request target, a runtime Host header", () => `http://${APP_HOST}/echo`, () => adaHost],
    ["another runtime host in the request target", () => `http://${bobHost}/echo`, () => adaHost],
  ])("GIVEN %s (absolute-form) THEN 400: routing and the signed host cannot be split", async (_name, target, hostHeader) => {
    const before = contacts();
    const reply = await send(proxy.port, hostHeader(), target(), { headers: signed(hostHeader(), ada) });
    expect(reply.status).toBe(400);
    expect(contacts()).toBe(before);
  });

  it("GIVEN a host that is neither the app nor under the runtime domain THEN 404 unknown_host", async () => {
    const reply = await send(proxy.port, `32771-${SLUG}.runtime.example.test.evil.com`, "/", { headers: { "X-Session-API-Key": ADA_KEY } });
    expect(reply.status).toBe(404);
    expect(reply.json.error).toBe("unknown_host");
  });
});

describe("identity on runtime hosts", () => {
  const now = () => Math.floor(Date.now() / 1000);
  const cases: Array<[string, () => Record<string, string>]> = [
    ["a forged signature", () => ({ ...signed(adaHost), "x-oh-sig": signature(newKey(), adaHost, ada, now() + 60) })],
    ["an expired identity", () => identityHeaders(key, adaHost, ada, now() - 30)],
    ["an identity signed for the app host", () => identityHeaders(key, APP_HOST, ada)],
    ["an identity signed for another runtime host", () => identityHeaders(key, adaWorkerHost, ada)],
    [
      "a forged identity next to the right session key",
      () => ({ ...signed(adaHost), "x-oh-user": "mallory", "X-Session-API-Key": ADA_KEY }),
    ],
  ];

  it.each(cases)("GIVEN %s THEN 401 and no sandbox is contacted", async (_name, headers) => {
    spawner.resetCounts();
    const before = contacts();
    const reply = await send(proxy.port, adaHost, "/echo", { headers: headers() });
    expect(reply.status).toBe(401);
    expect(spawner.counts.resolve).toBe(0);
    expect(contacts()).toBe(before);
  });

  it("GIVEN no identity, no key and no preflight THEN 401 without asking the spawner", async () => {
    spawner.resetCounts();
    const reply = await send(proxy.port, adaHost, "/");
    expect(reply.status).toBe(401);
    expect(spawner.counts.resolve).toBe(0);
  });
});

describe("ownership", () => {
  it("GIVEN identity headers in upper case, plus other X-OH-* names THEN the sandbox sees none of them", async () => {
    const upper = Object.fromEntries(
      Object.entries(signed(adaHost, ada)).map(([name, value]) => [name.startsWith("x-oh-") ? name.toUpperCase() : name, value]),
    );
    const reply = await send(proxy.port, adaHost, "/echo", {
      headers: { ...upper, "X-OH-USER-ID": "spoofed", "x-oh-role": "admin", "X-Oh-Exp-2": "1" },
    });
    expect(reply.status).toBe(200);
    const seen = reply.json.headers as Record<string, string>;
    expect(Object.keys(seen).filter((h) => h.toLowerCase().startsWith("x-oh-"))).toEqual([]);
  });

  it("GIVEN a session key and x-oh-* headers that are no identity field THEN the sandbox sees none of them", async () => {
    const reply = await send(proxy.port, adaHost, "/echo", {
      headers: { "X-Session-API-Key": ADA_KEY, "X-OH-Role": "admin", "x-oh-users": "eve" },
    });
    expect(reply.status).toBe(200);
    const seen = reply.json.headers as Record<string, string>;
    expect(Object.keys(seen).filter((h) => h.toLowerCase().startsWith("x-oh-"))).toEqual([]);
  });

  it("GIVEN Ada signed in on her own sandbox port THEN it is proxied, without our cookies and identity headers", async () => {
    const reply = await send(proxy.port, adaHost, "/echo?session_api_key=kept", {
      headers: signed(adaHost, ada, {
        Cookie: "__Host-oh-runtime=secret; app=1; __Host-oh-session=s",
        "X-Session-API-Key": "passes-through",
      }),
    });
    expect(reply.status).toBe(200);
    expect(reply.json.name).toBe("ada-agent");
    const seen = reply.json.headers as Record<string, string>;
    expect(Object.keys(seen).filter((h) => h.startsWith("x-oh-"))).toEqual([]);
    expect(seen.cookie).toBe("app=1");
    expect(seen["x-session-api-key"]).toBe("passes-through");
    expect(seen.host).toBe(adaHost);
    expect(reply.json.url).toBe("/echo?session_api_key=kept");
  });

  it("GIVEN Ada signed in on Bob's host (another user's slug) THEN 403 and Bob's sandbox is not contacted", async () => {
    const before = bobAgent.requests.length;
    const reply = await send(proxy.port, bobHost, "/echo", { headers: signed(bobHost, ada) });
    expect(reply.status).toBe(403);
    expect(reply.json.error).toBe("not_yours");
    expect(bobAgent.requests.length).toBe(before);
  });

  it("GIVEN Bob's sandbox port under Ada's slug THEN 403 (the port's owner is Bob)", async () => {
    const sneaky = host(bobAgent.port, ada.slug);
    const before = bobAgent.requests.length;
    const reply = await send(proxy.port, sneaky, "/echo", { headers: signed(sneaky, ada) });
    expect(reply.status).toBe(403);
    expect(bobAgent.requests.length).toBe(before);
  });

  it("GIVEN a browser refused THEN a small page instead of JSON", async () => {
    const reply = await send(proxy.port, bobHost, "/", { headers: signed(bobHost, ada, { Accept: "text/html" }) });
    expect(reply.status).toBe(403);
    expect(reply.body).toContain("This workspace belongs to someone else");
  });

  it("GIVEN a port nobody owns THEN 404 sandbox_not_found", async () => {
    const nowhere = host(40000, ada.slug);
    const reply = await send(proxy.port, nowhere, "/", { headers: signed(nowhere) });
    expect(reply.status).toBe(404);
    expect(reply.json.error).toBe("sandbox_not_found");
  });
});

describe("session keys (the SPA's cross-origin calls carry no identity)", () => {
  it("GIVEN the right key in X-Session-API-Key THEN the agent-server answers", async () => {
    const reply = await send(proxy.port, adaHost, `/api/conversations?ids=${CONVERSATION}`, { headers: { "X-Session-API-Key": ADA_KEY } });
    expect(reply.status).toBe(200);
    expect(reply.json[0].id).toBe(CONVERSATION);
  });

  it("GIVEN the right key in the session_api_key query THEN the agent-server answers", async () => {
    const reply = await send(proxy.port, adaHost, `/api/conversations?ids=${CONVERSATION}&session_api_key=${ADA_KEY}`);
    expect(reply.status).toBe(200);
  });

  it.each([
    ["a wrong key", "wrong-key"],
    ["Bob's key on Ada's sandbox", BOB_KEY],
    ["Ada's key with one character changed", `${ADA_KEY.slice(0, -1)}x`],
    ["an oversized key", "k".repeat(600)],
  ])("GIVEN %s THEN 404, as for a port where nothing runs, and the sandbox is not contacted", async (_name, wrong) => {
    const before = contacts();
    const reply = await send(proxy.port, adaHost, "/api/conversations", { headers: { "X-Session-API-Key": wrong } });
    expect(reply.status).toBe(404);
    expect(reply.json.error).toBe("sandbox_not_found");
    expect(contacts()).toBe(before);
  });

  // Each worker remembers keys that matched a route's hash; only that exact key for that hash may skip the hashing.
  it(
    "GIVEN Ada's key accepted (and remembered) by both workers THEN a key with the same prefix, Ada's key on Bob's host and Bob's on " +
      "Ada's are still refused",
    async () => {
      const eight = (h: string, k: string) =>
        Promise.all(Array.from({ length: 8 }, () => send(proxy.port, h, "/api/conversations", { headers: { "X-Session-API-Key": k } })));
      expect((await eight(adaHost, ADA_KEY)).map((r) => r.status)).toEqual(Array(8).fill(200));
      const before = contacts();
      for (const [h, k] of [
        [adaHost, `${ADA_KEY.slice(0, -1)}x`],
        [adaHost, `${ADA_KEY}x`],
        [adaHost, ADA_KEY.slice(0, -1)],
        [bobHost, ADA_KEY],
        [adaHost, BOB_KEY],
      ] as const) {
        expect([k, (await eight(h, k)).map((r) => r.status)]).toEqual([k, Array(8).fill(404)]);
      }
      expect(contacts()).toBe(before);
    },
  );

  it("GIVEN Ada's key on Bob's host THEN 404", async () => {
    const reply = await send(proxy.port, bobHost, `/api/conversations?session_api_key=${ADA_KEY}`);
    expect(reply.status).toBe(404);
  });

  it("GIVEN a WebSocket with the key in the query THEN events flow both ways through the proxy", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}/sockets/events/${CONVERSATION}?session_api_key=${ADA_KEY}`, {
      headers: { Host: adaHost, Origin: `https://${APP_HOST}` },
    });
    const messages: Array<Record<string, unknown>> = [];
    await new Promise<void>((resolve, reject) => {
      ws.on("message", (data) => {
        messages.push(JSON.parse(data.toString()));
        if (messages.length === 1) ws.send("hello agent");
        if (messages.length === 2) resolve();
      });
      ws.on("error", reject);
      ws.on("unexpected-response", (_req, res) => reject(new Error(`status ${res.statusCode}`)));
    });
    ws.close();
    expect(messages[0]).toMatchObject({ kind: "ConversationStateUpdateEvent", conversation_id: CONVERSATION });
    expect(messages[1]).toEqual({ kind: "echo", data: "hello agent" });
  });

  it("GIVEN a WebSocket from the app with a wrong key THEN the upgrade is refused (404, as for an empty port)", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}/sockets/events/${CONVERSATION}?session_api_key=nope`, {
      headers: { Host: adaHost, Origin: `https://${APP_HOST}` },
    });
    const status = await new Promise<number>((resolve) => {
      ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
      ws.on("open", () => resolve(101));
      ws.on("error", () => resolve(-1));
    });
    ws.terminate();
    expect(status).toBe(404);
  });
});

describe("CORS preflight and the App tab's probe", () => {
  it("GIVEN a CORS preflight from the app THEN the proxy answers it itself, and the sandbox and spawner see nothing", async () => {
    const before = contacts();
    spawner.resetCounts();
    const reply = await send(proxy.port, adaHost, "/api/conversations", {
      method: "OPTIONS",
      headers: {
        Origin: `https://${APP_HOST}`,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-session-api-key",
      },
    });
    expect(reply.status).toBe(204);
    expect(reply.headers["access-control-allow-origin"]).toBe(`https://${APP_HOST}`);
    expect(reply.headers["access-control-allow-headers"]).toContain("X-Session-API-Key");
    expect(contacts()).toBe(before);
    expect(spawner.counts.resolve).toBe(0);
  });

  it("GIVEN OPTIONS without Access-Control-Request-Method THEN it is no preflight: 401", async () => {
    const reply = await send(proxy.port, adaHost, "/", { method: "OPTIONS", headers: { Origin: `https://${APP_HOST}` } });
    expect(reply.status).toBe(401);
  });

  it("GIVEN the App tab's uncredentialed probe of a live worker THEN 200 with CORS for the app and no content", async () => {
    const before = adaWorker.requests.length;
    const reply = await send(proxy.port, adaWorkerHost, "/", { headers: { Origin: `https://${APP_HOST}`, Cookie: "x=1" } });
    expect(reply.status).toBe(200);
    expect(reply.body).toBe("");
    expect(reply.headers["access-control-allow-origin"]).toBe(`https://${APP_HOST}`);
    // The worker saw the proxy's own minimal GET /, none of the caller's headers.
    expect(adaWorker.requests.length).toBe(before + 1);
    const seen = adaWorker.requests.at(-1)!;
    expect(seen.url).toBe("/");
    expect(seen.headers["user-agent"]).toBe("openhands-team-proxy-probe");
    expect(seen.headers.cookie).toBeUndefined();
    expect(seen.headers.origin).toBeUndefined();
    // The App tab polls every 3 s: within 2 s the answer is reused.
    expect((await send(proxy.port, adaWorkerHost, "/", { headers: { Origin: `https://${APP_HOST}` } })).status).toBe(200);
    expect(adaWorker.requests.length).toBe(before + 1);
  });

  it("GIVEN the probe of a worker port where nothing listens THEN 502, so the App tab shows it inactive", async () => {
    const idlePort = await freePort();
    const idleHost = host(idlePort, ada.slug);
    spawner.routes.set(idleHost, {
      owner: ada.slug,
      upstream: `http://${sandboxAddress(ADA_NET, 120)}:${idlePort}`,
      kind: "worker",
      sessionKeySha256: sha(ADA_KEY),
    });
    const reply = await send(proxy.port, idleHost, "/", { headers: { Origin: `https://${APP_HOST}` } });
    expect(reply.status).toBe(502);
    expect(reply.headers["access-control-allow-origin"]).toBe(`https://${APP_HOST}`);
  });

  it(
    "GIVEN an uncredentialed probe on the agent-server port THEN the same " + "502 as a silent worker, and the agent-server sees nothing",
    async () => {
      const before = contacts();
      const reply = await send(proxy.port, adaHost, "/", { headers: { Origin: `https://${APP_HOST}` } });
      expect(reply.status).toBe(502);
      expect(contacts()).toBe(before);
    },
  );

  it.each([
    ["from a foreign origin", () => adaWorkerHost, "https://evil.example"],
    ["from a runtime origin", () => adaWorkerHost, `https://1-${ada.slug}.${RUNTIME_DOMAIN}`],
  ])("GIVEN an uncredentialed probe %s THEN 401", async (_name, probeHost, origin) => {
    const reply = await send(proxy.port, probeHost(), "/", { headers: { Origin: origin } });
    expect(reply.status).toBe(401);
  });
});

describe("response headers on runtime hosts", () => {
  it(
    "GIVEN a sandbox answer THEN no-store, no-referrer and frame-ancestors of " + "the app are added; Domain= is removed from its cookies",
    async () => {
      const reply = await send(proxy.port, adaHost, "/set-cookie", { headers: signed(adaHost) });
      expect(reply.headers["cache-control"]).toBe("no-store");
      expect(reply.headers["referrer-policy"]).toBe("no-referrer");
      const csp = reply.headers["content-security-policy"];
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain(`frame-ancestors https://${APP_HOST}`);
      expect(reply.headers["set-cookie"]).toEqual(["tossed=1; Path=/", "local=2; Path=/; HttpOnly"]);
    },
  );

  it("GIVEN a refusal THEN it carries the same headers", async () => {
    const reply = await send(proxy.port, adaHost, "/");
    expect(reply.headers["cache-control"]).toBe("no-store");
    expect(reply.headers["content-security-policy"]).toBe(`frame-ancestors https://${APP_HOST}`);
  });
});

describe("caching, vanished sandboxes and a spawner outage", () => {
  it("GIVEN 30 requests to one host THEN the spawner is asked at most once", async () => {
    const fresh = new FakeAgentServer(ADA_KEY, "fresh");
    await fresh.start();
    await place(fresh, ADA_NET);
    const h = host(fresh.port, ada.slug);
    spawner.routes.set(h, route(ada.slug, fresh, "agent-server", ADA_KEY));
    spawner.resetCounts();
    await Promise.all(Array.from({ length: 30 }, () => send(proxy.port, h, "/health", { headers: { "X-Session-API-Key": ADA_KEY } })));
    expect(spawner.counts.resolve).toBeLessThanOrEqual(2); // at most one per nginx worker
    await fresh.stop();
  });

  it("GIVEN a sandbox that vanished THEN the failed request asks the spawner again at once: 404, and so does the next", async () => {
    const doomed = new FakeAgentServer(ADA_KEY, "doomed");
    await doomed.start();
    await place(doomed, ADA_NET);
    const h = host(doomed.port, ada.slug);
    spawner.routes.set(h, route(ada.slug, doomed, "agent-server", ADA_KEY));
    const headers = { "X-Session-API-Key": ADA_KEY };
    expect((await send(proxy.port, h, "/health", { headers })).status).toBe(200);
    await doomed.stop();
    await exposed.get(doomed)!.close();
    spawner.routes.delete(h);
    spawner.resetCounts();
    const gone = await send(proxy.port, h, "/health", { headers });
    expect(gone.status).toBe(404);
    expect(gone.json.error).toBe("sandbox_not_found");
    expect(spawner.counts.resolve).toBe(1);
    const after = await send(proxy.port, h, "/health", { headers });
    expect(after.status).toBe(404);
    // The spawner's "no such route" is reused (negativeCacheSeconds).
    expect(spawner.counts.resolve).toBe(1);
  });

  it("GIVEN the spawner is down THEN 503 with Retry-After, and the proxy recovers when it returns", async () => {
    const late = new FakeAgentServer(ADA_KEY, "late");
    await late.start();
    await place(late, ADA_NET);
    const h = host(late.port, ada.slug);
    spawner.routes.set(h, route(ada.slug, late, "agent-server", ADA_KEY));
    await spawner.stop();
    const down = await send(proxy.port, h, "/health", { headers: { "X-Session-API-Key": ADA_KEY } });
    expect(down.status).toBe(503);
    expect(down.headers["retry-after"]).toBe("5");
    expect(down.json.error).toBe("spawner_unavailable");
    await spawner.start();
    const back = await send(proxy.port, h, "/health", { headers: { "X-Session-API-Key": ADA_KEY } });
    expect(back.status).toBe(200);
    await late.stop();
  });
});
