/**
 * Upstream faults through real nginx (issue 22 items 3 and 7): a paused container, a killed one, an
 * upstream that closes idle connections, and WebSockets that must outlive the plain requests' timeout.
 *
 * Stand-ins, each said where it is used: a SIGSTOPped process for a paused container (docker pause
 * freezes every process of the container with the cgroup freezer; the kernel still completes TCP
 * handshakes and takes the request, and nothing answers: the same as a stopped process); a veth pair
 * whose far end holds no address for a killed container's address on its bridge (ARP goes unanswered,
 * so a connect only times out, as after `docker kill`).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer, type Server, type Socket } from "node:net";
import WebSocket, { WebSocketServer } from "ws";
import { FakeSpawner } from "./harness/fake-spawner";
import { identityHeaders, makeUser, newKey } from "./harness/identity";
import { freePort, send, sleep } from "./harness/net";
import { APP_HOST, type RunningProxy, RUNTIME_DOMAIN, startProxy } from "./harness/proxy";

const key = newKey();
const paula = makeUser("3f0c1d2e-0000-4000-8000-0000000071a0", "paula@example.com");
const kim = makeUser("3f0c1d2e-0000-4000-8000-0000000072a0", "kim@example.com");
const kai = makeUser("3f0c1d2e-0000-4000-8000-0000000073a0", "kai@example.com");
const uma = makeUser("3f0c1d2e-0000-4000-8000-0000000074a0", "uma@example.com");
const SANDBOX_KEY = "faults-session-key-0123456789abcdefghijkl";
const sha = (s: string) => createHash("sha256").update(s).digest("hex");

let spawner: FakeSpawner;
let proxy: RunningProxy;
const cleanups: Array<() => unknown> = [];

const asUser = (user: typeof paula, extra: Record<string, string> = {}) => ({ ...identityHeaders(key, APP_HOST, user), ...extra });
const running = (upstream: string) => () => ({ status: 200, body: { state: "running", upstream } });
const timed = async <T>(work: () => Promise<T>): Promise<[T, number]> => {
  const started = Date.now();
  const result = await work();
  return [result, Date.now() - started];
};

/** An HTTP server in a process of its own (so it can be stopped with SIGSTOP) answering 200 "ok". */
async function childServer(address: string, port: number): Promise<ChildProcess> {
  const code =
    `require("node:http").createServer((q, s) => s.end("ok")).listen(${port}, ${JSON.stringify(address)}, ` +
    `() => process.stdout.write("listening\\n"));`;
  const child = spawn(process.execPath, ["-e", code], { stdio: ["ignore", "pipe", "inherit"] });
  cleanups.push(() => {
    child.kill("SIGCONT");
    child.kill("SIGKILL");
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on("data", (d: Buffer) => d.toString().includes("listening") && resolve());
    child.on("exit", (code) => reject(new Error(`stand-in server exited (${code})`)));
  });
  return child;
}

/**
 * A keep-alive HTTP/1.1 server that treats a connection idle for `idleSeconds` as closed, as uvicorn does
 * after timeout_keep_alive: a request arriving on it is dropped unanswered. (uvicorn closes at that moment;
 * a request nginx writes while that close is on its way meets the same end, and this makes it happen every time.)
 */
async function idleClosingServer(address: string, port: number, idleSeconds: number) {
  const state = { connections: 0 };
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    state.connections += 1;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
    let lastAnswer = Date.now();
    let pending = "";
    socket.on("data", (data: Buffer) => {
      if (Date.now() - lastAnswer >= idleSeconds * 1000) {
        socket.destroy();
        return;
      }
      pending += data.toString("latin1");
      // Requests without a body (GET) or with a small one (POST, Content-Length): answer each complete one.
      for (;;) {
        const end = pending.indexOf("\r\n\r\n");
        if (end < 0) return;
        const length = Number(/content-length:\s*(\d+)/i.exec(pending.slice(0, end))?.[1] ?? 0);
        if (pending.length < end + 4 + length) return;
        pending = pending.slice(end + 4 + length);
        socket.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok");
        lastAnswer = Date.now();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(port, address, resolve));
  cleanups.push(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  return state;
}

beforeAll(async () => {
  spawner = new FakeSpawner(await freePort());
  await spawner.start();
  // One worker, so that a second request meets the first one's idle upstream connection.
  proxy = await startProxy({
    spawnerPort: spawner.port,
    key,
    settings: { workerProcesses: 1, upstreamReadSeconds: 1, streamSeconds: 10, upstreamConnectSeconds: 1 },
  });
});

afterAll(async () => {
  await proxy?.stop();
  for (const cleanup of cleanups.reverse()) await cleanup();
  await spawner?.stop();
});

describe("a paused container (stand-in: a SIGSTOPped server process)", () => {
  it("GIVEN Paula's app is paused THEN her request ends after upstreamReadSeconds with a clear 504, not after streamSeconds", async () => {
    const app = await childServer("10.240.71.2", 3000);
    spawner.ensure.set(paula.slug, running("http://10.240.71.2:3000"));
    expect((await send(proxy.port, APP_HOST, "/api/x", { headers: asUser(paula) })).status).toBe(200);
    app.kill("SIGSTOP");
    spawner.resetCounts();
    const [reply, ms] = await timed(() => send(proxy.port, APP_HOST, "/api/x", { headers: asUser(paula) }));
    expect(reply.status).toBe(504);
    expect(reply.json).toMatchObject({ error: "upstream_timeout" });
    expect(ms).toBeLessThan(3000);
    // The spawner was asked again at once (here it still reports the app running).
    expect(spawner.counts.ensure).toBe(1);
    const page = await send(proxy.port, APP_HOST, "/", { headers: asUser(paula, { Accept: "text/html" }) });
    expect(page.status).toBe(504);
    expect(page.body).toContain('<meta http-equiv="refresh" content="3">');
    app.kill("SIGCONT");
    expect((await send(proxy.port, APP_HOST, "/api/x", { headers: asUser(paula) })).status).toBe(200);
  });

  it("GIVEN a sandbox port is paused and the spawner no longer routes it THEN the caller learns it at once: 404, not a hang", async () => {
    const sandbox = await childServer("10.240.72.130", 8001);
    const host = `8001-${kim.slug}.${RUNTIME_DOMAIN}`;
    spawner.routes.set(host, {
      owner: kim.slug,
      upstream: "http://10.240.72.130:8001",
      kind: "agent-server",
      sessionKeySha256: sha(SANDBOX_KEY),
    });
    const withKey = { "X-Session-API-Key": SANDBOX_KEY };
    expect((await send(proxy.port, host, "/api/conversations", { headers: withKey })).status).toBe(200);
    // OpenHands pauses the sandbox; the spawner drops its route (packages/spawner: running sandboxes only).
    sandbox.kill("SIGSTOP");
    spawner.routes.delete(host);
    const [reply, ms] = await timed(() => send(proxy.port, host, "/api/conversations", { headers: withKey }));
    expect(reply.status).toBe(404);
    expect(reply.json).toMatchObject({ error: "sandbox_not_found" });
    expect(ms).toBeLessThan(3000);
    // The route was asked afresh: the next request is answered without waiting on the paused port.
    const [again, quick] = await timed(() => send(proxy.port, host, "/api/conversations", { headers: withKey }));
    expect(again.status).toBe(404);
    // Less than upstreamReadSeconds: nothing waited on the paused port.
    expect(quick).toBeLessThan(1000);
  });
});

describe("WebSockets keep streamSeconds", () => {
  it("GIVEN a WebSocket quiet for longer than upstreamReadSeconds THEN it stays open and still carries messages", async () => {
    const http: HttpServer = createHttpServer((_req, res) => {
      // A plain request that takes longer than upstreamReadSeconds (the control: it is cut).
      setTimeout(() => res.end("late"), 2500);
    });
    const wss = new WebSocketServer({ server: http });
    wss.on("connection", (socket) => socket.on("message", (data) => socket.send(`echo ${data}`)));
    await new Promise<void>((resolve) => http.listen(8002, "10.240.72.131", resolve));
    cleanups.push(() => {
      for (const client of wss.clients) client.terminate();
      http.closeAllConnections();
      http.close();
    });
    const host = `8002-${kim.slug}.${RUNTIME_DOMAIN}`;
    spawner.routes.set(host, {
      owner: kim.slug,
      upstream: "http://10.240.72.131:8002",
      kind: "agent-server",
      sessionKeySha256: sha(SANDBOX_KEY),
    });

    const slow = await send(proxy.port, host, "/slow", { headers: { "X-Session-API-Key": SANDBOX_KEY } });
    expect(slow.status).toBe(504);

    const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}/sockets/events/x`, {
      headers: { Host: host, "X-Session-API-Key": SANDBOX_KEY, Origin: `https://${host}` },
    });
    await new Promise<void>((resolve, reject) => {
      ws.on("open", () => resolve());
      ws.on("error", reject);
      ws.on("unexpected-response", (_req, res) => reject(new Error(`status ${res.statusCode}`)));
    });
    await sleep(2500);
    const echo = await new Promise<string>((resolve, reject) => {
      ws.once("message", (data) => resolve(data.toString()));
      ws.once("close", () => reject(new Error("the WebSocket was closed")));
      ws.send("still here");
    });
    expect(echo).toBe("echo still here");
    ws.close();
  });
});

describe("a killed container (stand-in: its address on a bridge that no longer holds it)", () => {
  const link = "ohkill73";
  afterAll(() => {
    execFileSync("ip", ["link", "del", link], { stdio: "ignore" });
  });

  it("GIVEN Kai's app was killed THEN his next request gets the starting page within about a second, not a 4-5 s hang", async () => {
    // 10.240.0.0/16 is all local in the test namespace, so this app lives in 10.241: first reachable (on
    // loopback), then, like a killed container, an address on a link whose other end holds no address.
    execFileSync("ip", ["addr", "add", "10.241.73.2/32", "dev", "lo"]);
    const app = createHttpServer((_req, res) => res.end("ok"));
    await new Promise<void>((resolve) => app.listen(3000, "10.241.73.2", resolve));
    const killProxy = await startProxy({
      spawnerPort: spawner.port,
      key,
      settings: { userSubnetPrefix: "10.241", upstreamConnectSeconds: 1 },
    });
    cleanups.push(() => killProxy.stop());
    spawner.ensure.set(kai.slug, running("http://10.241.73.2:3000"));
    expect((await send(killProxy.port, APP_HOST, "/api/x", { headers: asUser(kai) })).status).toBe(200);

    app.closeAllConnections();
    await new Promise<void>((resolve) => app.close(() => resolve()));
    execFileSync("ip", ["addr", "del", "10.241.73.2/32", "dev", "lo"]);
    execFileSync("ip", ["link", "add", link, "type", "veth", "peer", "name", `${link}p`]);
    execFileSync("ip", ["addr", "add", "10.241.73.1/24", "dev", link]);
    execFileSync("ip", ["link", "set", link, "up"]);
    execFileSync("ip", ["link", "set", `${link}p`, "up"]);
    // The spawner saw the container die and starts it again.
    spawner.ensure.set(kai.slug, () => ({ status: 202, body: { state: "starting", retryAfterMs: 2000 } }));

    const [page, ms] = await timed(() => send(killProxy.port, APP_HOST, "/", { headers: asUser(kai, { Accept: "text/html" }) }));
    expect(page.status).toBe(503);
    expect(page.body).toContain("Starting your OpenHands");
    // upstreamConnectSeconds (1 s) and one spawner call, well under the 4-5 s hang this replaces.
    expect(ms).toBeLessThan(2500);
  });
});

describe("upstream keep-alive below the upstream's own (no 502 on a reused connection)", () => {
  it("GIVEN an app that closes connections idle for 5 s (uvicorn's default) THEN a request after 5.5 s idle gets 200", async () => {
    const app = await idleClosingServer("10.240.74.2", 3000, 5);
    spawner.ensure.set(uma.slug, running("http://10.240.74.2:3000"));
    const first = await send(proxy.port, APP_HOST, "/api/x", { headers: asUser(uma) });
    expect(first.status).toBe(200);
    await sleep(5500);
    const post = await send(proxy.port, APP_HOST, "/api/x", {
      method: "POST",
      headers: asUser(uma, { "Sec-Fetch-Site": "same-origin" }),
      body: "{}",
    });
    expect(post.status).toBe(200);
    // nginx had closed its idle connection (upstreamKeepaliveSeconds 4) and opened a new one.
    expect(app.connections).toBe(2);
  }, 15_000);

  it("GIVEN an upstream whose idle limit (2 s) is below nginx's THEN a POST on the reused connection is the 502 this setting avoids; " +
    "a GET is retried once on a fresh one", async () => {
    await idleClosingServer("10.240.75.2", 3000, 2);
    spawner.ensure.set(kim.slug, running("http://10.240.75.2:3000"));
    expect((await send(proxy.port, APP_HOST, "/api/x", { headers: asUser(kim) })).status).toBe(200);
    await sleep(2500);
    const post = await send(proxy.port, APP_HOST, "/api/x", {
      method: "POST",
      headers: asUser(kim, { "Sec-Fetch-Site": "same-origin" }),
      body: "{}",
    });
    expect(post.status).toBe(502);
    expect((await send(proxy.port, APP_HOST, "/api/x", { headers: asUser(kim) })).status).toBe(200);
    await sleep(2500);
    expect((await send(proxy.port, APP_HOST, "/api/x", { headers: asUser(kim) })).status).toBe(200);
  }, 15_000);
});
