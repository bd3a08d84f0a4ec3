/**
 * The webhook relay on a user's gateway. Here the gateway is a loopback address (127.X.N.1): no bridge
 * interface exists on this machine, and the relay listens wherever the backend says sandboxes call.
 */
import { createLogger } from "../src/log";
import { relayRefusal, WebhookRelay } from "../src/relay";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startOpenHandsApp, type RunningOpenHandsApp } from "@openhands-team/openhands-fakes";
import { startFakeDockerEngine, type FakeDockerEngine } from "../testing/fake-docker-engine";
import { freePort, http } from "./helpers/harness";

describe("webhook relay", () => {
  let app: RunningOpenHandsApp;
  let engine: FakeDockerEngine;
  let dir: string;
  let relay: WebhookRelay;
  let base: string;
  /** A sandbox's address on the user's bridge (the relay serves its own /24 only). */
  const sandboxAddress = () => gateway.replace(/\.1$/, ".130");
  const fromSandbox = (options: Parameters<typeof http>[0]) => http({ ...options, localAddress: sandboxAddress() });
  const traffic: string[] = [];
  const slug = "aaaaaaaaaaaaaaaa";
  const gateway = `127.${100 + Math.floor(Math.random() * 150)}.7.1`;

  beforeAll(async () => {
    // The app checks webhook keys against its sandboxes (docker-py through DOCKER_HOST): an engine with none.
    dir = mkdtempSync(join(tmpdir(), "relay-test-"));
    engine = await startFakeDockerEngine({ socketPath: join(dir, "docker.sock") });
    app = await startOpenHandsApp({ version: "1.7.0", host: "127.0.0.1", env: { DOCKER_HOST: `unix://${engine.socketPath}` } });
    await app.ready;
    const port = await freePort();
    relay = new WebhookRelay(port, createLogger({ write: () => undefined }), (s) => traffic.push(s));
    await relay.open(slug, gateway, () => app.url);
    base = `http://${gateway}:${port}`;
  });
  afterAll(async () => {
    await relay.closeAll();
    await app.close();
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Whether the app received a request for this path (the relay forwarded it). */
  const appSaw = (method: string, path: string) => app.requests.filter((r) => r.method === method && r.url.split("?")[0] === path);

  it(
    "GIVEN a sandbox's conversation webhook WHEN it reaches the relay THEN the app receives it with its session key header (and " +
      "answers it itself), and it counts as activity",
    async () => {
      const res = await fromSandbox({
        url: `${base}/api/v1/webhooks/conversations`,
        method: "POST",
        body: { id: "c1" },
        headers: { "x-session-api-key": "k1" },
      });
      // The app's own answer: k1 is no sandbox of this app (webhook_router.py valid_sandbox), not the relay's 403.
      expect(res.status).toBe(401);
      expect(res.json()).toEqual({ detail: "Invalid session API key" });
      const seen = appSaw("POST", "/api/v1/webhooks/conversations")[0]!;
      expect(seen.headers["x-session-api-key"]).toBe("k1");
      expect(JSON.parse(seen.body)).toEqual({ id: "c1" });
      expect(traffic).toContain(slug);
    },
  );

  it("GIVEN event and secrets webhooks THEN they reach the app too", async () => {
    await fromSandbox({ url: `${base}/api/v1/webhooks/events/0123456789abcdef0123456789abcdef`, method: "POST", body: [] });
    await fromSandbox({ url: `${base}/api/v1/webhooks/secrets`, headers: { "x-access-token": "jwt" } });
    expect(appSaw("POST", "/api/v1/webhooks/events/0123456789abcdef0123456789abcdef")).toHaveLength(1);
    expect(appSaw("GET", "/api/v1/webhooks/secrets")[0]!.headers["x-access-token"]).toBe("jwt");
  });

  it("GIVEN an MCP call (streamable HTTP POST, GET and DELETE on /mcp/mcp) THEN it is relayed", async () => {
    const post = await fromSandbox({
      url: `${base}/mcp/mcp`,
      method: "POST",
      body: { jsonrpc: "2.0", id: 1, method: "initialize" },
      headers: { "x-openhands-serverconversation-id": "c1", accept: "application/json, text/event-stream" },
    });
    expect(post.status).toBe(200);
    expect(app.mcpCalls).toContain("c1");
    for (const method of ["GET", "DELETE"]) {
      const res = await fromSandbox({ url: `${base}/mcp/mcp`, method });
      expect(res.status).not.toBe(403);
      expect(appSaw(method, "/mcp/mcp")).toHaveLength(1);
    }
  });

  it.each([
    ["GET", "/api/v1/sandboxes/search"],
    ["GET", "/api/v1/settings"],
    ["POST", "/api/v1/settings"],
    ["GET", "/api/v1/app-conversations/search"],
    ["GET", "/"],
    ["GET", "/health"],
    ["GET", "/mcp"],
    ["GET", "/mcp/mcp/extra"],
    ["GET", "/api/v1/webhooks"],
    ["GET", "/api/v1/webhooks/"],
    ["GET", "/api/v1/webhooks/../sandboxes/search"],
    ["GET", "/api/v1/webhooks/%2e%2e/sandboxes/search"],
    ["GET", "/api/v1/webhooks//x"],
    ["GET", "/api/v1/webhooks/x;/../../settings"],
    ["PUT", "/api/v1/webhooks/conversations"],
    ["PATCH", "/mcp/mcp"],
  ])("GIVEN %s %s from a sandbox THEN the relay refuses it and the app never sees it", async (method, path) => {
    const before = app.requests.length;
    const res = await fromSandbox({ url: `${base}${path}`, method });
    expect(res.status).toBe(403);
    expect(app.requests.length).toBe(before);
  });

  it(
    "GIVEN a caller outside the user's /24 (another user's sandbox routed to this gateway, or the host) WHEN it calls an allowed " +
      "path THEN 403 and the app never sees it",
    async () => {
      const before = app.requests.length;
      const otherUsersSandbox = gateway.replace(/\.\d+\.1$/, ".8.130");
      for (const localAddress of [otherUsersSandbox, "127.0.0.1"]) {
        const res = await http({ url: `${base}/api/v1/webhooks/conversations`, method: "POST", body: {}, localAddress });
        expect({ localAddress, status: res.status }).toEqual({ localAddress, status: 403 });
        expect(res.json().message).toMatch(/outside this user's network/);
      }
      expect(app.requests.length).toBe(before);
    },
  );

  it("GIVEN a WebSocket upgrade on an allowed path THEN it is refused (no tunnel)", () => {
    expect(relayRefusal("GET", "/mcp/mcp", { upgrade: "websocket" })).toMatch(/upgrade/);
  });

  it("GIVEN the app is not running WHEN a callback arrives THEN 503, not a hang", async () => {
    const port = await freePort();
    const other = new WebhookRelay(port, createLogger({ write: () => undefined }), () => undefined);
    const address = gateway.replace(/\.1$/, ".9");
    await other.open("bbbbbbbbbbbbbbbb", address, () => undefined);
    try {
      expect(
        (
          await http({
            url: `http://${address}:${port}/api/v1/webhooks/conversations`,
            method: "POST",
            body: {},
            localAddress: sandboxAddress(),
          })
        ).status,
      ).toBe(503);
    } finally {
      await other.closeAll();
    }
  });
});
