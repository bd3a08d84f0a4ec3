/**
 * The attacks of issue 13 (items 7-13) against real nginx with the proxy's Lua code. Each test makes
 * the hostile request and checks what the sandbox, the app, the spawner and the logs saw.
 * Upstreams are a hostile stand-in (test/harness/hostile-upstream.ts) at the users' subnet addresses.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { connect } from "node:net";
import { join } from "node:path";
import WebSocket from "ws";
import { FakeSpawner } from "./harness/fake-spawner";
import { HostileUpstream } from "./harness/hostile-upstream";
import { identityHeaders, makeUser, newKey } from "./harness/identity";
import { freePort, send, sleep } from "./harness/net";
import { APP_HOST, type RunningProxy, RUNTIME_DOMAIN, startProxy } from "./harness/proxy";
import { appAddress, sandboxAddress, SUBNET_PREFIX } from "./harness/subnet";

const NET = 31; // this file's user subnets: 10.240.31-39.0/24
const victim = makeUser("attacks-victim", "victim@example.com");
const mallory = makeUser("attacks-mallory", "mallory@example.com");
const key = newKey();
const VICTIM_KEY = "victim-session-key-0123456789abcdefghijkl";
const sha = (s: string) => createHash("sha256").update(s).digest("hex");
const APP_ORIGIN = `https://${APP_HOST}`;

let spawner: FakeSpawner;
let sandbox: HostileUpstream;
let worker: HostileUpstream;
let app: HostileUpstream;
let proxy: RunningProxy;
let victimHost = "";
let workerHost = "";
const emptyHost = () => `40123-${victim.slug}.${RUNTIME_DOMAIN}`;

const signed = (h: string, user = victim, extra: Record<string, string> = {}) => ({ ...identityHeaders(key, h, user), ...extra });
const asApp = (extra: Record<string, string> = {}) => ({ ...identityHeaders(key, APP_HOST, victim), ...extra });
const seenCount = () => sandbox.seen.length + worker.seen.length + app.seen.length;

/** One raw HTTP exchange: writes `text`, returns what came back before the server closed (or `ms` passed). */
function raw(port: number, text: string, ms = 3000): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(), ms);
    socket.on("data", (d) => chunks.push(d));
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString("latin1"));
    });
    socket.on("error", () => undefined);
    socket.write(text);
  });
}

/** Status of a WebSocket handshake (101 when it opened). */
function handshake(port: number, host: string, path: string, headers: Record<string, string>): Promise<number> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers: { Host: host, ...headers } });
  return new Promise<number>((resolve) => {
    ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
    ws.on("open", () => resolve(101));
    ws.on("error", () => resolve(-1));
  }).finally(() => ws.terminate());
}

beforeAll(async () => {
  spawner = new FakeSpawner(await freePort());
  await spawner.start();
  sandbox = new HostileUpstream(sandboxAddress(NET, 0));
  worker = new HostileUpstream(sandboxAddress(NET, 1));
  app = new HostileUpstream(appAddress(NET));
  await Promise.all([sandbox.start(), worker.start(), app.start(3000)]);
  victimHost = `32001-${victim.slug}.${RUNTIME_DOMAIN}`;
  workerHost = `32002-${victim.slug}.${RUNTIME_DOMAIN}`;
  spawner.routes.set(victimHost, { owner: victim.slug, upstream: sandbox.url, kind: "agent-server", sessionKeySha256: sha(VICTIM_KEY) });
  spawner.routes.set(workerHost, { owner: victim.slug, upstream: worker.url, kind: "worker", sessionKeySha256: sha(VICTIM_KEY) });
  spawner.ensure.set(victim.slug, () => ({ status: 200, body: { state: "running", upstream: app.url } }));
  proxy = await startProxy({ spawnerPort: spawner.port, key });
});

afterAll(async () => {
  await proxy?.stop();
  await Promise.all([spawner?.stop(), sandbox?.stop(), worker?.stop(), app?.stop()]);
});

describe("7. anonymous CORS preflights never reach a sandbox", () => {
  it(
    "GIVEN an OPTIONS 'preflight' with a path, query, body, cookies and Upgrade: h2c THEN 204 from the proxy: no lookup, no sandbox " +
      "contact, no activity",
    async () => {
      spawner.resetCounts();
      spawner.activity.length = 0;
      const before = seenCount();
      const reply = await raw(
        proxy.port,
        [
          `OPTIONS /api/conversations/x/events?session_api_key=guess HTTP/1.1`,
          `Host: ${victimHost}`,
          `Origin: ${APP_ORIGIN}`,
          "Access-Control-Request-Method: POST",
          "Cookie: a=1",
          "Connection: Upgrade, HTTP2-Settings",
          "Upgrade: h2c",
          "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA",
          "Content-Length: 11",
          "",
          "hello world",
        ].join("\r\n"),
      );
      expect(reply).toMatch(/^HTTP\/1\.1 204 /);
      expect(reply).not.toMatch(/^HTTP\/1\.1 101/m);
      expect(reply).toContain(`Access-Control-Allow-Origin: ${APP_ORIGIN}`);
      expect(seenCount()).toBe(before);
      expect(spawner.counts.resolve).toBe(0);
      await sleep(800); // activity is flushed every 0.3 s in these tests
      expect(spawner.activity.filter((e) => e.slug === victim.slug)).toEqual([]);
    },
  );

  it(
    "GIVEN OPTIONS with Access-Control-Request-Method but no Origin, a session key and Sec-Fetch-Site none THEN still answered by " +
      "the proxy (the edge passes these unsigned)",
    async () => {
      spawner.resetCounts();
      const before = seenCount();
      const reply = await send(proxy.port, victimHost, `/api/x?session_api_key=${VICTIM_KEY}`, {
        method: "OPTIONS",
        headers: { "Access-Control-Request-Method": "POST", "Sec-Fetch-Site": "none" },
        body: "smuggled",
      });
      expect(reply.status).toBe(204);
      expect(reply.headers["access-control-allow-origin"]).toBeUndefined();
      expect(seenCount()).toBe(before);
      expect(spawner.counts.resolve).toBe(0);
    },
  );

  it.each([
    ["a foreign site", "https://evil.example", undefined],
    ["another runtime host", `https://32001-${mallory.slug}.${RUNTIME_DOMAIN}`, undefined],
    ["the runtime host itself", "SELF", "SELF"],
    ["the app", APP_ORIGIN, APP_ORIGIN],
  ])(
    "GIVEN a preflight from %s THEN CORS is granted only to the " + "app or the host's own origin, with fixed lists",
    async (_name, origin, expected) => {
      const o = origin === "SELF" ? `https://${victimHost}` : origin;
      const reply = await send(proxy.port, victimHost, "/api/x", {
        method: "OPTIONS",
        headers: { Origin: o, "Access-Control-Request-Method": "DELETE", "Access-Control-Request-Headers": "x-evil, x-session-api-key" },
      });
      expect(reply.status).toBe(204);
      const e = expected === "SELF" ? `https://${victimHost}` : expected;
      expect(reply.headers["access-control-allow-origin"]).toBe(e);
      if (e) expect(reply.headers["access-control-allow-headers"]).not.toContain("x-evil");
    },
  );

  it("GIVEN an authorised GET with Upgrade: h2c THEN the sandbox never sees the Upgrade and no tunnel opens", async () => {
    const before = sandbox.seen.length;
    const reply = await raw(
      proxy.port,
      [
        "GET /echo HTTP/1.1",
        `Host: ${victimHost}`,
        `X-Session-API-Key: ${VICTIM_KEY}`,
        `Origin: ${APP_ORIGIN}`,
        "Connection: Upgrade, HTTP2-Settings",
        "Upgrade: h2c",
        "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA",
        "",
        "",
      ].join("\r\n"),
      1500,
    );
    expect(reply).toMatch(/^HTTP\/1\.1 200 /);
    const seen = sandbox.seen.slice(before);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.upgrade).toBe(false);
    expect(seen[0]!.headers.upgrade).toBeUndefined();
  });

  it("GIVEN an authorised POST asking for a WebSocket upgrade THEN it is forwarded without Upgrade", async () => {
    const before = sandbox.seen.length;
    const reply = await raw(
      proxy.port,
      [
        "POST /echo HTTP/1.1",
        `Host: ${victimHost}`,
        `X-Session-API-Key: ${VICTIM_KEY}`,
        `Origin: ${APP_ORIGIN}`,
        "Connection: Upgrade",
        "Upgrade: websocket",
        "Content-Length: 0",
        "",
        "",
      ].join("\r\n"),
      1500,
    );
    expect(reply).not.toMatch(/^HTTP\/1\.1 101/);
    expect(sandbox.seen.slice(before).map((s) => s.headers.upgrade)).toEqual([undefined]);
  });

  it("GIVEN an authorised WebSocket handshake from the app THEN it still opens (control)", async () => {
    expect(await handshake(proxy.port, victimHost, `/sockets/events/x?session_api_key=${VICTIM_KEY}`, { Origin: APP_ORIGIN })).toBe(101);
  });
});

describe("8. cross-site requests and WebSockets with the victim's credentials", () => {
  const foreign: Array<[string, Record<string, string>]> = [
    ["Origin of a foreign site", { Origin: "https://evil.example" }],
    ["Origin of another user's runtime host", { Origin: `https://32001-${mallory.slug}.${RUNTIME_DOMAIN}` }],
    ["Origin of the victim's other port", { Origin: "https://32002-VICTIM" }],
    ["Origin null", { Origin: "null" }],
    ["no Origin, Sec-Fetch-Site cross-site", { "Sec-Fetch-Site": "cross-site" }],
    ["no Origin, Sec-Fetch-Site same-site", { "Sec-Fetch-Site": "same-site" }],
    ["no Origin and no Sec-Fetch-Site", {}],
  ];
  const fix = (h: Record<string, string>) => (h.Origin === "https://32002-VICTIM" ? { Origin: `https://${workerHost}` } : h);

  it.each(foreign)("GIVEN a signed POST with %s THEN 403 cross_site and the sandbox is not contacted", async (_name, extra) => {
    const before = seenCount();
    const reply = await send(proxy.port, victimHost, "/api/x", {
      method: "POST",
      headers: signed(victimHost, victim, fix(extra)),
      body: "{}",
    });
    expect(reply.status).toBe(403);
    expect(reply.json.error).toBe("cross_site");
    expect(seenCount()).toBe(before);
  });

  it.each(foreign)("GIVEN a session-key DELETE with %s THEN 403 cross_site", async (_name, extra) => {
    const before = seenCount();
    const reply = await send(proxy.port, victimHost, "/api/x", {
      method: "DELETE",
      headers: { "X-Session-API-Key": VICTIM_KEY, ...fix(extra) },
    });
    expect(reply.status).toBe(403);
    expect(seenCount()).toBe(before);
  });

  it.each(foreign)("GIVEN a WebSocket handshake with the session key and %s THEN it is refused", async (_name, extra) => {
    const before = seenCount();
    const status = await handshake(proxy.port, victimHost, `/sockets/events/x?session_api_key=${VICTIM_KEY}`, fix(extra));
    expect(status).toBe(403);
    expect(seenCount()).toBe(before);
  });

  it("GIVEN a signed WebSocket handshake from a foreign site THEN it is refused", async () => {
    expect(await handshake(proxy.port, victimHost, "/sockets/x", signed(victimHost, victim, { Origin: "https://evil.example" }))).toBe(403);
  });

  it("GIVEN a GET that carries only Sec-WebSocket-Key (an intermediary dropped Upgrade) from a foreign site THEN 403", async () => {
    const reply = await send(proxy.port, victimHost, "/x", {
      headers: signed(victimHost, victim, {
        Origin: "https://evil.example",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13",
      }),
    });
    expect(reply.status).toBe(403);
  });

  it.each([
    ["the app", { Origin: APP_ORIGIN }],
    ["the runtime host itself", { Origin: "SELF" }],
    ["no Origin, Sec-Fetch-Site same-origin", { "Sec-Fetch-Site": "same-origin" }],
    ["no Origin, Sec-Fetch-Site none", { "Sec-Fetch-Site": "none" }],
  ])("GIVEN a signed POST from %s THEN it reaches the sandbox (control)", async (_name, extra) => {
    const headers: Record<string, string> = "Origin" in extra && extra.Origin === "SELF" ? { Origin: `https://${victimHost}` } : extra;
    const reply = await send(proxy.port, victimHost, "/echo", {
      method: "POST",
      headers: signed(victimHost, victim, headers as Record<string, string>),
      body: "{}",
    });
    expect(reply.status).toBe(200);
    expect(reply.json.hostile).toBe(true);
  });

  it.each([
    [
      "Upgrade: websocket",
      { Upgrade: "websocket", Connection: "Upgrade", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13" },
    ],
    ["only Sec-WebSocket-Key", { "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==" }],
  ])(
    "GIVEN a signed GET to the app host with %s from a sandbox page " + "THEN 403 cross_site (cross-site WebSocket hijacking)",
    async (_name, extra) => {
      const before = app.seen.length;
      const reply = await send(proxy.port, APP_HOST, "/socket.io/?EIO=4&transport=websocket", {
        headers: asApp({ Origin: `https://${victimHost}`, ...extra }),
      });
      expect(reply.status).toBe(403);
      expect(reply.json.error).toBe("cross_site");
      expect(app.seen.length).toBe(before);
    },
  );

  it("GIVEN a WebSocket to the app host from the app itself THEN it opens (control)", async () => {
    expect(await handshake(proxy.port, APP_HOST, "/socket.io/", asApp({ Origin: APP_ORIGIN }))).toBe(101);
  });
});

describe("9. the proxy accepts upstreams only inside the users' subnets", () => {
  let loopbackService: Server;
  let loopbackHits = 0;
  let loopbackPort = 0;

  beforeAll(async () => {
    loopbackService = createServer((_req, res) => {
      loopbackHits += 1;
      res.end("host service");
    });
    loopbackPort = await freePort();
    await new Promise<void>((resolve) => loopbackService.listen(loopbackPort, "127.0.0.1", resolve));
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => loopbackService.close(() => resolve()));
  });

  const badSandbox: Array<[string, () => string]> = [
    ["loopback (a host service)", () => `http://127.0.0.1:${loopbackPort}`],
    ["loopback elsewhere in 127/8", () => `http://127.1.2.3:${loopbackPort}`],
    ["the user's gateway .1", () => `http://${SUBNET_PREFIX}.${NET}.1:${sandbox.port}`],
    ["the user's app .2", () => `http://${SUBNET_PREFIX}.${NET}.2:3000`],
    ["the lower half of the subnet", () => `http://${SUBNET_PREFIX}.${NET}.100:${sandbox.port}`],
    ["the broadcast address", () => `http://${SUBNET_PREFIX}.${NET}.255:${sandbox.port}`],
    ["another /16", () => `http://10.241.${NET}.130:${sandbox.port}`],
    ["the metadata service", () => "http://169.254.169.254:80"],
    ["0.0.0.0", () => `http://0.0.0.0:${loopbackPort}`],
  ];

  it.each(badSandbox)("GIVEN the spawner resolves a sandbox to %s THEN 503 and nothing is contacted", async (_name, upstream) => {
    const h = `33${String(badSandbox.findIndex(([n]) => n === _name)).padStart(3, "0")}-${victim.slug}.${RUNTIME_DOMAIN}`;
    spawner.routes.set(h, { owner: victim.slug, upstream: upstream(), kind: "agent-server", sessionKeySha256: sha(VICTIM_KEY) });
    const before = seenCount() + loopbackHits;
    const reply = await send(proxy.port, h, "/", { headers: signed(h) });
    expect(reply.status).toBe(503);
    expect(seenCount() + loopbackHits).toBe(before);
  });

  const badApp: Array<[string, () => string]> = [
    ["loopback on the app port", () => "http://127.0.0.1:3000"],
    ["a loopback host service", () => `http://127.0.0.1:${loopbackPort}`],
    ["the gateway", () => `http://${SUBNET_PREFIX}.${NET}.1:3000`],
    ["a sandbox address", () => `${sandbox.url}`],
    [".2 on another port", () => `http://${SUBNET_PREFIX}.${NET}.2:${sandbox.port}`],
    [".2 outside the users' /16", () => `http://10.99.${NET}.2:3000`],
  ];

  it.each(badApp)("GIVEN the spawner answers ensure with %s THEN 503 and nothing is contacted", async (_name, upstream) => {
    const user = makeUser(`bad-app-${_name}`, "x@example.com");
    spawner.ensure.set(user.slug, () => ({ status: 200, body: { state: "running", upstream: upstream() } }));
    const before = seenCount() + loopbackHits;
    const reply = await send(proxy.port, APP_HOST, "/", { headers: identityHeaders(key, APP_HOST, user) });
    expect(reply.status).toBe(503);
    expect(seenCount() + loopbackHits).toBe(before);
  });

  it("GIVEN the app at .2 on the app port THEN it is reached (control)", async () => {
    const reply = await send(proxy.port, APP_HOST, "/echo", { headers: asApp() });
    expect(reply.status).toBe(200);
    expect(reply.json.hostile).toBe(true);
  });
});

describe("9. a cached route into a subnet that went to another user", () => {
  const a = makeUser("cross-a", "a@example.com");
  const b = makeUser("cross-b", "b@example.com");
  const started: HostileUpstream[] = [];
  const upstreamAt = async (address: string, port = 0) => {
    const u = new HostileUpstream(address);
    await u.start(port);
    started.push(u);
    return u;
  };
  afterAll(async () => {
    await Promise.all(started.map((u) => u.stop()));
  });

  it(
    "GIVEN A's app route cached and A's /24 reclaimed for B THEN once B's " + "app is known, A is sent to A's new app, never to B's",
    async () => {
      const oldA = await upstreamAt(appAddress(NET + 4), 3000);
      spawner.ensure.set(a.slug, () => ({ status: 200, body: { state: "running", upstream: oldA.url } }));
      expect((await send(proxy.port, APP_HOST, "/echo", { headers: identityHeaders(key, APP_HOST, a) })).status).toBe(200);
      // A's app stops; the spawner gives A's subnet to B (B's app at the same .2) and later starts A elsewhere.
      await oldA.stop();
      const appB = await upstreamAt(appAddress(NET + 4), 3000);
      const newA = await upstreamAt(appAddress(NET + 5), 3000);
      spawner.ensure.set(b.slug, () => ({ status: 200, body: { state: "running", upstream: appB.url } }));
      spawner.ensure.set(a.slug, () => ({ status: 200, body: { state: "running", upstream: newA.url } }));
      expect((await send(proxy.port, APP_HOST, "/echo", { headers: identityHeaders(key, APP_HOST, b) })).status).toBe(200);
      const seenByB = appB.seen.length;
      const reply = await send(proxy.port, APP_HOST, "/echo", { headers: identityHeaders(key, APP_HOST, a) });
      expect(reply.status).toBe(200);
      expect(appB.seen.length).toBe(seenByB);
      expect(newA.seen.length).toBe(1);
    },
  );

  it(
    "GIVEN A's sandbox route cached and the address reused by B's sandbox THEN once B's route is known, A's host is asked again and " +
      "never reaches B",
    async () => {
      const address = sandboxAddress(NET + 6, 0);
      const oldA = await upstreamAt(address);
      const aHost = `34001-${a.slug}.${RUNTIME_DOMAIN}`;
      const bHost = `34002-${b.slug}.${RUNTIME_DOMAIN}`;
      spawner.routes.set(aHost, { owner: a.slug, upstream: oldA.url, kind: "agent-server", sessionKeySha256: null });
      expect((await send(proxy.port, aHost, "/echo", { headers: identityHeaders(key, aHost, a) })).status).toBe(200);
      const port = oldA.port;
      await oldA.stop();
      const sandboxB = await upstreamAt(address, port);
      spawner.routes.delete(aHost);
      spawner.routes.set(bHost, { owner: b.slug, upstream: sandboxB.url, kind: "agent-server", sessionKeySha256: null });
      expect((await send(proxy.port, bHost, "/echo", { headers: identityHeaders(key, bHost, b) })).status).toBe(200);
      const seenByB = sandboxB.seen.length;
      const reply = await send(proxy.port, aHost, "/echo", { headers: identityHeaders(key, aHost, a) });
      expect(reply.status).toBe(404);
      expect(sandboxB.seen.length).toBe(seenByB);
    },
  );
});

describe("10. port enumeration without an identity", () => {
  const strip = (r: { status: number; body: string }) => ({ status: r.status, body: r.body });

  it("GIVEN a wrong session key THEN a live port and an empty one answer the same", async () => {
    const live = await send(proxy.port, victimHost, "/", { headers: { "X-Session-API-Key": "guess" } });
    const empty = await send(proxy.port, emptyHost(), "/", { headers: { "X-Session-API-Key": "guess" } });
    expect(strip(live)).toEqual(strip(empty));
  });

  it("GIVEN a wrong session key on another user's port put under one's own slug THEN the same answer as an empty port", async () => {
    const sneaky = `32001-${mallory.slug}.${RUNTIME_DOMAIN}`;
    spawner.routes.set(sneaky, { owner: victim.slug, upstream: sandbox.url, kind: "agent-server", sessionKeySha256: sha(VICTIM_KEY) });
    const a = await send(proxy.port, sneaky, "/", { headers: { "X-Session-API-Key": "guess" } });
    const b = await send(proxy.port, emptyHost(), "/", { headers: { "X-Session-API-Key": "guess" } });
    expect(strip(a)).toEqual(strip(b));
  });

  it("GIVEN the App tab's anonymous probe THEN a non-worker port, an empty port and another user's port answer alike", async () => {
    const probe = (h: string) => send(proxy.port, h, "/", { headers: { Origin: APP_ORIGIN } });
    const answers = await Promise.all([probe(victimHost), probe(emptyHost()), probe(`32009-${mallory.slug}.${RUNTIME_DOMAIN}`)]);
    expect(new Set(answers.map((r) => JSON.stringify(strip(r)))).size).toBe(1);
    expect(answers[0]!.status).toBe(502);
  });

  it("GIVEN no credential at all THEN the same 401 for a live and an empty port, without a lookup", async () => {
    spawner.resetCounts();
    const live = await send(proxy.port, victimHost, "/");
    const empty = await send(proxy.port, emptyHost(), "/");
    expect(strip(live)).toEqual(strip(empty));
    expect(live.status).toBe(401);
    expect(spawner.counts.resolve).toBe(0);
  });

  it("GIVEN a signed user on another user's slug THEN 403 without a lookup", async () => {
    const h = `32077-${mallory.slug}.${RUNTIME_DOMAIN}`;
    spawner.routes.set(h, {
      owner: mallory.slug,
      upstream: `http://${sandboxAddress(NET + 1, 0)}:8000`,
      kind: "agent-server",
      sessionKeySha256: null,
    });
    spawner.resetCounts();
    const reply = await send(proxy.port, h, "/", { headers: identityHeaders(key, h, victim) });
    expect(reply.status).toBe(403);
    expect(spawner.counts.resolve).toBe(0);
  });

  it(
    "GIVEN a client scanning ports with a session key THEN its lookups are " + "bounded: 429 past the budget, the spawner is not asked",
    async () => {
      const limited = await startProxy({ spawnerPort: spawner.port, key, settings: { lookupsPerClientPerMinute: 5 } });
      try {
        spawner.resetCounts();
        const statuses: number[] = [];
        for (let port = 41000; port < 41012; port += 1) {
          statuses.push(
            (await send(limited.port, `${port}-${victim.slug}.${RUNTIME_DOMAIN}`, "/", { headers: { "X-Session-API-Key": "guess" } }))
              .status,
          );
        }
        expect(statuses.slice(0, 5)).toEqual([404, 404, 404, 404, 404]);
        expect(statuses.slice(5)).toEqual(Array(7).fill(429));
        expect(spawner.counts.resolve).toBe(5);
        const last = await send(limited.port, `41999-${victim.slug}.${RUNTIME_DOMAIN}`, "/", { headers: { "X-Session-API-Key": "guess" } });
        expect(last.json.error).toBe("too_many_lookups");
        expect(last.headers["retry-after"]).toBe("60");
        // A signed owner is not held back by the anonymous budget; a cached route costs nothing.
        expect((await send(limited.port, victimHost, "/echo", { headers: signed(victimHost) })).status).toBe(200);
      } finally {
        await limited.stop();
      }
    },
  );
});

describe("10. the lookup budget behind CloudFront and the ALB (clientAddressHops 2)", () => {
  it(
    "GIVEN a scanner rotating the X-Forwarded-For entries it controls THEN " + "it keeps its one budget; another viewer has its own",
    async () => {
      const behind = await startProxy({ spawnerPort: spawner.port, key, settings: { clientAddressHops: 2, lookupsPerClientPerMinute: 2 } });
      try {
        const ask = (port: number, xff: string) =>
          send(behind.port, `${port}-${victim.slug}.${RUNTIME_DOMAIN}`, "/", {
            headers: { "X-Session-API-Key": "guess", "X-Forwarded-For": xff },
          });
        const statuses: number[] = [];
        for (let i = 0; i < 5; i += 1) statuses.push((await ask(42000 + i, `10.9.9.${i}, 203.0.113.7, 130.176.0.1`)).status);
        expect(statuses).toEqual([404, 404, 429, 429, 429]);
        expect((await ask(42010, "203.0.113.8, 130.176.0.1")).status).toBe(404);
      } finally {
        await behind.stop();
      }
    },
  );
});

describe("11. Set-Cookie from upstreams", () => {
  const hostile = [
    "a=1; Domain =example.test; Path=/",
    "b=2; Domain\t=example.test",
    "c=3; domain=example.test",
    "d=4;Domain=example.test;Path=/",
    "e=5; DOMAIN = .example.test ; Secure",
    "f=6; Path=/; Domain",
    "__Host-oh-session=forged; Path=/; Secure",
    "__host-OH-session=forged; Path=/; Secure",
    " __Secure-oh-refresh=forged; Path=/_auth/refresh; Secure",
    "__Host-oh-refresh=forged; Path=/; Secure",
    "oh-session=forged",
    "=__Host-oh-session=forged",
    "__Host-oh-runtime",
  ];
  const answer = (_req: unknown, res: import("node:http").ServerResponse) => {
    res.writeHead(200, { "Set-Cookie": hostile, "Content-Length": "2" });
    res.end("ok");
  };

  function check(cookies: string[] | undefined) {
    const list = cookies ?? [];
    for (const c of list) {
      expect(c).not.toMatch(/domain/i);
      expect(c).not.toMatch(/^\s*(__host-|__secure-)?oh[-_]/i);
      expect(c).not.toMatch(/^\s*=/);
    }
    expect(list.map((c) => c.split("=")[0])).toEqual(["a", "b", "c", "d", "e", "f"]);
    expect(list[0]).toBe("a=1; Path=/");
  }

  it(
    "GIVEN a sandbox setting cookies with Domain in any spelling, or with " + "our names THEN Domain is gone and our names are dropped",
    async () => {
      sandbox.answers.set("/cookies", answer);
      check((await send(proxy.port, victimHost, "/cookies", { headers: signed(victimHost) })).headers["set-cookie"]);
    },
  );

  it("GIVEN the app doing the same THEN the same filter applies on the app host", async () => {
    app.answers.set("/cookies", answer);
    check((await send(proxy.port, APP_HOST, "/cookies", { headers: asApp() })).headers["set-cookie"]);
  });
});

describe("12. log injection", () => {
  it("GIVEN %0a, CR, escape sequences and non-ASCII in refused URIs THEN every log line is one line of the proxy's own", async () => {
    const forged = "2026/01/01 00:00:00 [crit] 1#1: forged line";
    await send(proxy.port, victimHost, `/x%0a${encodeURIComponent(forged)}%0d%1b[2J%7f%c3%a9`);
    await send(proxy.port, victimHost, `/y%0a${encodeURIComponent(forged)}`, { headers: { "X-Session-API-Key": "guess" } });
    await send(proxy.port, APP_HOST, `/z%0a${encodeURIComponent(forged)}`);
    await sleep(700); // the proxy's lines are written from a 0.2 s timer
    const errors = proxy.errorLog();
    const access = readFileSync(join(proxy.prefix, "access.log"), "utf8");
    expect(errors).toContain("refused runtime request");
    for (const log of [errors, access]) {
      expect(log).not.toMatch(/^2026\/01\/01 00:00:00 \[crit\] 1#1: forged line/m);
      expect(log).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\xff]/);
    }
    expect(errors).toContain("\\x0A2026/01/01");
    for (const line of access.split("\n").filter(Boolean)) expect(line).toMatch(/^127\.0\.0\.1 \[/);
  });
});

describe("12. nginx's own error lines", () => {
  it("GIVEN %0a in the URI of a request whose app is down THEN nginx's connect() error stays one line", async () => {
    const down = makeUser("log-down", "down@example.com");
    spawner.ensure.set(down.slug, () => ({ status: 200, body: { state: "running", upstream: `http://${appAddress(NET + 7)}:3000` } }));
    const reply = await send(proxy.port, APP_HOST, "/p%0a2026/01/01%2000:00:00%20[emerg]%201#1:%20forged%0d%0a", {
      headers: identityHeaders(key, APP_HOST, down),
    });
    expect(reply.status).toBe(502);
    await sleep(700);
    const errors = proxy.errorLog();
    expect(errors).toContain("connect() failed");
    expect(errors).not.toMatch(/^2026\/01\/01 00:00:00 \[emerg\]/m);
    expect(errors).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
  });
});

describe("13. hardening", () => {
  it.each([
    ["X-Accel-Redirect to the health endpoint", { "X-Accel-Redirect": "/_oh/health" }],
    ["X-Accel-Redirect to the upstream-failure location", { "X-Accel-Redirect": "@oh_upstream_failed" }],
    [
      "X-Accel-Limit-Rate, X-Accel-Buffering, X-Accel-Charset and X-Accel-Expires",
      { "X-Accel-Limit-Rate": "1", "X-Accel-Buffering": "yes", "X-Accel-Charset": "koi8-r", "X-Accel-Expires": "@1" },
    ],
  ])(
    "GIVEN a sandbox answering %s THEN nginx ignores it and the " + "client sees the sandbox's own answer without it",
    async (_name, headers) => {
      sandbox.answers.set("/accel", (_req, res) => {
        res.writeHead(200, { ...headers, "Content-Type": "text/plain", "Content-Length": "13" });
        res.end("sandbox body\n");
      });
      const reply = await send(proxy.port, victimHost, "/accel", { headers: signed(victimHost) });
      expect(reply.status).toBe(200);
      expect(reply.body).toBe("sandbox body\n");
      expect(Object.keys(reply.headers).filter((h) => h.startsWith("x-accel-"))).toEqual([]);
    },
  );

  it(
    "GIVEN a sandbox answering its own Referrer-Policy, Cache-Control and a permissive frame-ancestors THEN the client gets the " +
      "proxy's, with the sandbox's CSP kept beside ours",
    async () => {
      sandbox.answers.set("/own-policies", (_req, res) => {
        res.writeHead(200, {
          "Referrer-Policy": "unsafe-url",
          "Cache-Control": "public, max-age=86400",
          "Content-Security-Policy": "frame-ancestors *",
          "Content-Type": "text/plain",
          "Content-Length": "3",
        });
        res.end("ok\n");
      });
      const reply = await send(proxy.port, victimHost, "/own-policies", { headers: signed(victimHost) });
      expect(reply.status).toBe(200);
      expect(reply.headers["referrer-policy"]).toBe("no-referrer");
      expect(reply.headers["cache-control"]).toBe("no-store");
      expect(reply.headers["content-security-policy"]).toBe(`frame-ancestors *, frame-ancestors https://${APP_HOST}`);
    },
  );

  it("GIVEN client-supplied forwarding, address, URL-override and method-override headers THEN no upstream sees them", async () => {
    const spoofed = {
      Forwarded: "for=10.0.0.1;host=evil",
      "X-Real-IP": "10.0.0.1",
      "X-Forwarded-Port": "1",
      "X-Original-URL": "/admin",
      "X-Rewrite-URL": "/admin",
      "X-Forwarded-Prefix": "/evil",
      "X-HTTP-Method-Override": "DELETE",
      "X-Method-Override": "DELETE",
      "X-Client-IP": "10.0.0.1",
      "True-Client-IP": "10.0.0.1",
      "X-Forwarded-Host": "evil.example",
      "X-Forwarded-Proto": "http",
    };
    for (const [h, headers] of [
      [victimHost, signed(victimHost, victim, spoofed)],
      [APP_HOST, asApp(spoofed)],
    ] as const) {
      const reply = await send(proxy.port, h, "/echo", { headers });
      const seen = reply.json.headers as Record<string, string>;
      for (const name of [
        "forwarded",
        "x-real-ip",
        "x-forwarded-port",
        "x-original-url",
        "x-rewrite-url",
        "x-forwarded-prefix",
        "x-http-method-override",
        "x-method-override",
        "x-client-ip",
        "true-client-ip",
      ]) {
        expect([name, seen[name]]).toEqual([name, undefined]);
      }
      expect(seen["x-forwarded-host"]).toBe(h);
      expect(seen["x-forwarded-proto"]).toBe("https");
    }
  });

  it("GIVEN a client sending its header a byte at a time THEN nginx closes the connection (slowloris)", async () => {
    const slow = await startProxy({ spawnerPort: spawner.port, key, settings: { clientHeaderSeconds: 1 } });
    try {
      const text = `GET /echo HTTP/1.1\r\nHost: ${victimHost}\r\nX-Session-API-Key: ${VICTIM_KEY}\r\n\r\n`;
      const socket = connect(slow.port, "127.0.0.1");
      let closed = false;
      let received = "";
      socket.on("data", (d) => (received += d.toString()));
      socket.on("close", () => (closed = true));
      socket.on("error", () => undefined);
      let sent = 0;
      while (!closed && sent < text.length) {
        socket.write(text[sent]!);
        sent += 1;
        await sleep(250);
      }
      expect(closed).toBe(true);
      expect(sent).toBeLessThan(text.length);
      expect(received).not.toContain("hostile");
      socket.destroy();
    } finally {
      await slow.stop();
    }
  });

  it(
    "GIVEN a client trickling its request body THEN nginx ends the request when a " +
      "pause exceeds the body timeout, and the sandbox sees nothing",
    async () => {
      const slow = await startProxy({ spawnerPort: spawner.port, key, settings: { clientBodySeconds: 1 } });
      try {
        const before = sandbox.seen.length;
        const socket = connect(slow.port, "127.0.0.1");
        let closed = false;
        let received = "";
        socket.on("data", (d) => (received += d.toString()));
        socket.on("close", () => (closed = true));
        socket.on("error", () => undefined);
        socket.write(
          `POST /echo HTTP/1.1\r\nHost: ${victimHost}\r\nX-Session-API-Key: ${VICTIM_KEY}\r\nOrigin: ` +
            `${APP_ORIGIN}\r\nContent-Length: 40\r\n\r\n`,
        );
        let sent = 0;
        while (!closed && sent < 40) {
          socket.write("x");
          sent += 1;
          await sleep(1500);
        }
        expect(closed).toBe(true);
        expect(sent).toBeLessThan(40);
        expect(received).toMatch(/^HTTP\/1\.1 408 |^$/);
        expect(sandbox.seen.length).toBe(before);
        socket.destroy();
      } finally {
        await slow.stop();
      }
    },
  );

  it("GIVEN one client holding many requests open THEN the one past the per-client limit gets 429", async () => {
    const tight = await startProxy({ spawnerPort: spawner.port, key, settings: { connectionsPerClient: 3 } });
    const sockets: import("node:net").Socket[] = [];
    try {
      const opened: Array<Promise<void>> = [];
      for (let i = 0; i < 3; i += 1) {
        const s = connect(tight.port, "127.0.0.1");
        sockets.push(s);
        opened.push(new Promise((resolve) => s.on("data", () => resolve())));
        s.write(`GET /hang HTTP/1.1\r\nHost: ${victimHost}\r\nX-Session-API-Key: ${VICTIM_KEY}\r\n\r\n`);
      }
      await Promise.all(opened);
      const fourth = await send(tight.port, victimHost, "/echo", { headers: { "X-Session-API-Key": VICTIM_KEY } });
      expect(fourth.status).toBe(429);
      for (const s of sockets) s.destroy();
      sandbox.release();
      let after = 0;
      for (let i = 0; i < 20 && after !== 200; i += 1) {
        await sleep(100);
        after = (await send(tight.port, victimHost, "/echo", { headers: { "X-Session-API-Key": VICTIM_KEY } })).status;
      }
      expect(after).toBe(200);
    } finally {
      for (const s of sockets) s.destroy();
      sandbox.release();
      await tight.stop();
    }
  });

  it("GIVEN a flood of health checks THEN the spawner is probed about once a second per worker, not once per request", async () => {
    spawner.resetCounts();
    const started = Date.now();
    for (let i = 0; i < 40; i += 1) expect((await send(proxy.port, "10.0.0.5", "/_oh/health")).status).toBe(200);
    const seconds = Math.ceil((Date.now() - started) / 1000);
    expect(spawner.counts.healthz).toBeLessThanOrEqual(2 * (seconds + 1)); // 2 nginx workers
  });
});
