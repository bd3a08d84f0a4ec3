/**
 * The agent-server contract fake answers like the SDK's agent-server: open health, key-gated API and
 * events WebSocket, CORS only for the configured app origin. The system test relies on these answers.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { freePort, startTsProcess, stopAll, type StartedProcess } from "../src/processes";

const KEY = "k".repeat(43);
let sandbox: StartedProcess;
let base: string;

beforeAll(async () => {
  const logDir = mkdtempSync(join(tmpdir(), "e2e-agent-"));
  const [api, vscode, worker1, worker2] = [await freePort(), await freePort(), await freePort(), await freePort()];
  base = `http://127.0.0.1:${api}`;
  sandbox = await startTsProcess({
    name: "agent-server",
    file: join(__dirname, "..", "fakes", "agent-server.ts"),
    logDir,
    ready: /agent-server ready/,
    env: {
      ...process.env,
      OH_SESSION_API_KEYS_0: KEY,
      OH_ALLOW_CORS_ORIGINS_0: "https://app.example.test",
      E2E_SANDBOX: JSON.stringify({
        containerName: "oh-sbx-aaaaaaaaaaaaaaaa-abc",
        hostIp: "127.0.0.1",
        ports: { "8000/tcp": api, "8001/tcp": vscode, "8011/tcp": worker1, "8012/tcp": worker2 },
        extraHosts: {},
      }),
    },
  });
});

afterAll(async () => {
  await sandbox.stop();
  await stopAll();
});

test("GIVEN no key WHEN the API is called THEN 401, while /health stays open", async () => {
  expect((await fetch(`${base}/health`)).status).toBe(200);
  expect((await fetch(`${base}/api/conversations`, { method: "POST" })).status).toBe(401);
  expect((await fetch(`${base}/api/conversations`, { method: "POST", headers: { "x-session-api-key": "wrong" } })).status).toBe(401);
});

test("GIVEN the key WHEN a conversation is created THEN its events arrive on the WebSocket with the key in the query", async () => {
  const created = await fetch(`${base}/api/conversations`, { method: "POST", headers: { "x-session-api-key": KEY } });
  expect(created.status).toBe(201);
  const { id } = (await created.json()) as { id: string };
  const socket = new WebSocket(`${base.replace("http", "ws")}/sockets/events/${id}?session_api_key=${KEY}`);
  const first = await new Promise<string>((resolve, reject) => {
    socket.once("message", (data) => resolve(String(data)));
    socket.once("error", reject);
  });
  socket.close();
  expect(JSON.parse(first)).toMatchObject({ source: "environment", text: expect.stringContaining("oh-sbx-aaaaaaaaaaaaaaaa-abc") });
});

test("GIVEN a wrong key WHEN the events WebSocket is opened THEN the upgrade is refused", async () => {
  const created = await fetch(`${base}/api/conversations`, { method: "POST", headers: { "x-session-api-key": KEY } });
  const { id } = (await created.json()) as { id: string };
  const socket = new WebSocket(`${base.replace("http", "ws")}/sockets/events/${id}?session_api_key=wrong`);
  const status = await new Promise<number>((resolve) => socket.once("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0)));
  expect(status).toBe(403);
});

test("GIVEN a preflight WHEN it comes from the app origin THEN CORS allows it, and not for another origin", async () => {
  const allowed = await fetch(`${base}/api/conversations`, { method: "OPTIONS", headers: { origin: "https://app.example.test", "access-control-request-method": "GET" } });
  expect(allowed.headers.get("access-control-allow-origin")).toBe("https://app.example.test");
  const foreign = await fetch(`${base}/api/conversations`, { method: "OPTIONS", headers: { origin: "https://evil.example", "access-control-request-method": "GET" } });
  expect(foreign.headers.get("access-control-allow-origin")).toBeNull();
});
