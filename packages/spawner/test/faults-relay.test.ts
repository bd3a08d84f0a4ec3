/**
 * One user's misbehaving sandbox must cost only that user: aborted and slow webhook requests through the
 * relay, connection floods on the filtered Docker API, oversized bodies, floods of activity reports. Against
 * the real engine (docker-lab): the relays listen on the real bridges' gateways and this test calls them from
 * an address inside the user's /24, as that user's sandbox would. The spawner runs in this process, so its
 * open files are this process's /proc/self/fd (the test's own client sockets included, and closed again).
 */
import { connect, createServer as createTcpServer, type Socket } from "node:net";
import { createServer } from "node:http";
import { Client } from "pg";
import { describeWithEngine } from "@openhands-team/docker-lab";
import { createLogger } from "../src/log";
import { RELAY_MAX_CONNECTIONS, WebhookRelay } from "../src/relay";
import { FILTER_MAX_CONNECTIONS } from "../src/docker/api-endpoint";
import { startPostgres, type TestPostgres } from "../testing/postgres";
import { ensureLabImages } from "./helpers/lab-images";
import { eventually, http, keepLoopbackSources, openFds, startFaultLab, user, type FaultLab } from "./faults/lab";

jest.setTimeout(240_000);

/** Opens a TCP connection (optionally from `localAddress`) and resolves once connected. */
function open(host: string, port: number, localAddress?: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, ...(localAddress ? { localAddress } : {}) }, () => resolve(socket));
    socket.on("error", reject);
  });
}
function openUnix(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(path, () => resolve(socket));
    socket.on("error", reject);
  });
}
/** Resolves when the peer closes the socket (or after `ms`, with false). */
function closedWithin(socket: Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve(true);
    // Flowing, so that the peer's end of stream is seen.
    socket.resume();
    const timer = setTimeout(() => resolve(false), ms);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}
/** Reads the first bytes the peer answers (the status line). */
function firstAnswer(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    socket.on("data", (chunk) => {
      text += chunk.toString("latin1");
      if (text.includes("\r\n")) resolve(text);
    });
    socket.on("close", () => resolve(text));
    socket.on("error", () => resolve(text));
  });
}

describeWithEngine("one sandbox cannot exhaust the spawner (real engine)", () => {
  let pg: TestPostgres;
  let lab: FaultLab;
  const alice = user(701);
  const bob = user(702);
  const aliceGateway = "10.244.1.1";
  const bobGateway = "10.244.2.1";
  const webhookHead = (length: number) =>
    `POST /api/v1/webhooks/events HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;

  const othersStillServed = async () => {
    expect((await http({ url: `${lab.service.apiUrl}/healthz` })).status).toBe(200);
    keepLoopbackSources();
    const forwarded = lab.service.relay.forwarded;
    const relayed = await http({ url: `http://${bobGateway}:3000/api/v1/webhooks/secrets`, localAddress: bobGateway });
    expect(relayed.status).toBeLessThan(500);
    expect(relayed.status).not.toBe(403);
    expect(lab.service.relay.forwarded).toBe(forwarded + 1);
    const version = await http({ socketPath: `${lab.config.paths.dockerApiDir}/${bob.slug}/docker.sock`, path: "/version" });
    expect(version.status).toBe(200);
  };

  beforeAll(async () => {
    const images = await ensureLabImages();
    pg = await startPostgres();
    lab = await startFaultLab({
      images: { app: images.app, agentServer: images.agentServer },
      pg,
      subnetPrefix: "10.244",
      users: { maxRunningApps: 3 },
    });
    expect((await lab.ensure(alice)).json().upstream).toBe("http://10.244.1.2:3000");
    expect((await lab.ensure(bob)).json().upstream).toBe("http://10.244.2.2:3000");
    keepLoopbackSources();
  });
  afterAll(async () => {
    await lab?.close();
    await pg?.stop();
  });

  it(
    "GIVEN 2,000 webhook requests to alice's relay aborted mid-body WHEN they are gone THEN the spawner's open files are back near " +
      "where they started, and bob's relay, Docker API and the control API answer",
    async () => {
      await othersStillServed();
      const baseline = openFds();
      const before = lab.service.relay.forwarded;
      for (let batch = 0; batch < 40; batch += 1) {
        const sockets = await Promise.all(Array.from({ length: 50 }, () => open(aliceGateway, 3000, aliceGateway)));
        for (const socket of sockets) socket.write(`${webhookHead(100_000)}{"partial":`);
        // Each request has reached the relay (and its upstream connection to the app is open) before the abort.
        await eventually(() => lab.service.relay.forwarded >= before + (batch + 1) * 50);
        for (const socket of sockets) socket.destroy();
      }
      expect(lab.service.relay.forwarded).toBe(before + 2_000);
      const settled = await eventually(() => {
        const now = openFds();
        return now <= baseline + 20 ? now : false;
      }, 30_000);
      expect(settled).toBeLessThanOrEqual(baseline + 20);
      await othersStillServed();
      expect(lab.logs.filter((line) => line.includes('"level":"error"') && line.includes("relay"))).toEqual([]);
    },
  );

  it(
    "GIVEN 500 slow bodies to alice's relay WHEN they are held open THEN at most the relay's connection limit is taken (bob and the " +
      "control API answer), and the open files come back once they go",
    async () => {
      const baseline = openFds();
      const sockets: Socket[] = [];
      let dropped = 0;
      for (let i = 0; i < 500; i += 1) {
        try {
          const socket = await open(aliceGateway, 3000, aliceGateway);
          socket.on("error", () => undefined);
          socket.on("close", () => (dropped += 1));
          socket.write(`${webhookHead(1_000)}{`);
          sockets.push(socket);
        } catch {
          dropped += 1;
        }
      }
      // Connections beyond the limit are closed by the relay at once; the rest trickle (one byte now and then).
      await eventually(() => sockets.length - dropped <= RELAY_MAX_CONNECTIONS);
      const trickle = setInterval(() => {
        for (const s of sockets) if (!s.destroyed) s.write(" ");
      }, 500);
      try {
        expect(openFds()).toBeLessThan(baseline + 3 * RELAY_MAX_CONNECTIONS + 30);
        await othersStillServed();
      } finally {
        clearInterval(trickle);
        for (const s of sockets) s.destroy();
      }
      await eventually(() => openFds() <= baseline + 20, 30_000);
      await othersStillServed();
    },
  );

  it(
    "GIVEN 200 connections held open on alice's Docker API socket THEN at most its limit stays open, bob's socket answers, and all " +
      "is released when they go",
    async () => {
      const baseline = openFds();
      const path = `${lab.config.paths.dockerApiDir}/${alice.slug}/docker.sock`;
      const sockets: Socket[] = [];
      let closed = 0;
      for (let i = 0; i < 200; i += 1) {
        const socket = await openUnix(path).catch(() => undefined);
        if (!socket) {
          closed += 1;
          continue;
        }
        socket.on("error", () => undefined);
        socket.on("close", () => (closed += 1));
        sockets.push(socket);
      }
      await eventually(() => sockets.length - (closed - (200 - sockets.length)) <= FILTER_MAX_CONNECTIONS);
      await othersStillServed();
      for (const s of sockets) s.destroy();
      await eventually(() => openFds() <= baseline + 20, 30_000);
    },
  );

  it(
    "GIVEN oversized bodies THEN 413 answers, not a reset: relay (Content-Length over 8 MiB), Docker create over 1 MiB (read stops " +
      "at the limit), control API over 1 MiB",
    async () => {
      const relaySocket = await open(aliceGateway, 3000, aliceGateway);
      const relayAnswer = firstAnswer(relaySocket);
      relaySocket.write(webhookHead(9 * 1024 * 1024));
      expect(await relayAnswer).toMatch(/^HTTP\/1\.1 413 /);
      relaySocket.destroy();

      const filter = await openUnix(`${lab.config.paths.dockerApiDir}/${alice.slug}/docker.sock`);
      filter.on("error", () => undefined);
      const filterAnswer = firstAnswer(filter);
      filter.write(
        `POST /v1.41/containers/create?name=oh-sbx-${alice.slug}-big HTTP/1.1\r\nHost: docker\r\nContent-Type: ` +
          `application/json\r\nContent-Length: ${4 * 1024 * 1024}\r\n\r\n`,
      );
      filter.write(Buffer.alloc(1024 * 1024 + 64 * 1024, 0x20));
      expect(await filterAnswer).toMatch(/^HTTP\/1\.1 413 /);
      filter.destroy();

      const api = new URL(lab.service.apiUrl);
      const control = await open(api.hostname, Number(api.port));
      control.on("error", () => undefined);
      const controlAnswer = firstAnswer(control);
      control.write(
        `POST /v1/activity HTTP/1.1\r\nHost: spawner\r\nContent-Type: application/json\r\nContent-Length: ${3 * 1024 * 1024}\r\n\r\n`,
      );
      control.write(Buffer.alloc(1024 * 1024 + 64 * 1024, 0x20));
      expect(await controlAnswer).toMatch(/^HTTP\/1\.1 413 /);
      control.destroy();
      await othersStillServed();
    },
  );

  it(
    "GIVEN bodies aborted mid-way (relay, Docker create, control API) THEN " + "nothing is logged at error level and others are served",
    async () => {
      const errorsBefore = lab.logs.filter((line) => line.includes('"level":"error"')).length;
      const relaySocket = await open(aliceGateway, 3000, aliceGateway);
      relaySocket.write(`${webhookHead(1_000)}{"a":`);
      const filter = await openUnix(`${lab.config.paths.dockerApiDir}/${alice.slug}/docker.sock`);
      filter.write(
        `POST /v1.41/containers/create?name=oh-sbx-${alice.slug}-cut HTTP/1.1\r\nHost: docker\r\nContent-Type: ` +
          `application/json\r\nContent-Length: 1000\r\n\r\n{"Image":`,
      );
      const api = new URL(lab.service.apiUrl);
      const control = await open(api.hostname, Number(api.port));
      control.write(
        `POST /v1/activity HTTP/1.1\r\nHost: spawner\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n[{"slug":`,
      );
      await new Promise((r) => setTimeout(r, 300));
      for (const socket of [relaySocket, filter, control]) socket.destroy();
      await eventually(() => lab.logs.some((line) => line.includes("control api request aborted by the client")));
      await othersStillServed();
      expect(lab.logs.filter((line) => line.includes('"level":"error"')).slice(errorsBefore)).toEqual([]);
    },
  );

  it("GIVEN activity reports for 9,000 unknown users THEN none is kept (only users with an app here are)", async () => {
    const forged = Array.from({ length: 9_000 }, (_, i) => ({ slug: user(100_000 + i).slug, at: Date.now() }));
    const answer = await http({
      url: `${lab.service.apiUrl}/v1/activity`,
      method: "POST",
      body: [...forged, { slug: alice.slug, at: Date.now() }],
    });
    expect(answer.status).toBe(204);
    expect(lab.service.spawner.activityEntries).toBeLessThanOrEqual(lab.service.apps.list().length);
  });

  it(
    "GIVEN one app starting and two running with users.maxRunningApps = 3 WHEN a fourth user asks THEN 503 whose message counts the " +
      "starting app too",
    async () => {
      const carol = user(703);
      const dave = user(704);
      // carol's setup waits inside PostgreSQL (her setup lock held here), so she is starting for as long as this test wants.
      const lock = new Client({ host: pg.host, port: pg.port, user: pg.user, password: pg.password, database: "postgres" });
      lock.on("error", () => undefined);
      await lock.connect();
      await lock.query("SELECT pg_advisory_lock(hashtext($1))", [`oh-spawner:${carol.slug}`]);
      const carolAnswer = lab.ensure(carol);
      try {
        await eventually(() => lab.service.spawner.stats().startingUsers === 1);
        const refused = await lab.ensure(dave);
        expect(refused.status).toBe(503);
        expect(refused.json()).toEqual({
          error: "capacity",
          message: expect.stringMatching(
            /^this host already runs or starts 3 OpenHands apps \(2 running, 1 starting; users\.maxRunningApps = 3\)/,
          ),
          // The counts the proxy's "server is full" page shows.
          details: { reason: "apps", running: 2, starting: 1, max: 3 },
        });
      } finally {
        await lock.end();
      }
      expect((await carolAnswer).status).toBe(200);
    },
  );
});

describe("relay time bounds (short limits, loopback)", () => {
  it(
    "GIVEN a caller that sends headers or a body too slowly, or stays idle THEN the relay closes the connection and the app's " +
      "connection with it",
    async () => {
      const upstreamSockets = new Set<Socket>();
      const app = createServer((req, res) => {
        req.resume();
        req.on("end", () => res.end("ok"));
      });
      app.on("connection", (socket: Socket) => {
        upstreamSockets.add(socket);
        socket.on("close", () => upstreamSockets.delete(socket));
      });
      await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", resolve));
      const appPort = (app.address() as { port: number }).port;
      const probe = createTcpServer();
      await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
      const port = (probe.address() as { port: number }).port;
      await new Promise<void>((resolve) => probe.close(() => resolve()));
      const relay = new WebhookRelay(port, createLogger({ write: () => undefined }), () => undefined, {
        headersTimeoutMs: 500,
        requestTimeoutMs: 1_500,
        idleTimeoutMs: 2_000,
      });
      await relay.open("aaaaaaaaaaaaaaaa", "127.0.0.1", () => `http://127.0.0.1:${appPort}`);
      try {
        const slowHeaders = await open("127.0.0.1", port);
        slowHeaders.on("error", () => undefined);
        slowHeaders.write("POST /api/v1/webhooks/x HTTP/1.1\r\nHost: r\r\n");
        const slowBody = await open("127.0.0.1", port);
        slowBody.on("error", () => undefined);
        slowBody.write(`POST /api/v1/webhooks/x HTTP/1.1\r\nHost: r\r\nContent-Length: 100\r\n\r\n{`);
        const idle = await open("127.0.0.1", port);
        idle.on("error", () => undefined);
        await eventually(() => upstreamSockets.size === 1);
        expect(await closedWithin(slowHeaders, 15_000)).toBe(true);
        expect(await closedWithin(slowBody, 15_000)).toBe(true);
        expect(await closedWithin(idle, 15_000)).toBe(true);
        await eventually(() => upstreamSockets.size === 0, 15_000);
      } finally {
        await relay.closeAll();
        await new Promise<void>((resolve) => app.close(() => resolve()));
      }
    },
  );

  it("the per-relay connection limit is a small number (one user's sandboxes cannot hold hundreds of open files)", () => {
    expect(RELAY_MAX_CONNECTIONS).toBeLessThanOrEqual(128);
    expect(FILTER_MAX_CONNECTIONS).toBeLessThanOrEqual(64);
  });
});
