/**
 * The standalone bundles as the stand-in images run them: `node dist/<x>.js` from a folder holding nothing else
 * (no node_modules), configured by environment variables only.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./support/world";

const root = join(__dirname, "..");
let dir: string;
const children: ChildProcess[] = [];

beforeAll(() => {
  execFileSync(process.execPath, [join(root, "build", "bundle.mjs")], { stdio: "inherit" });
  dir = mkdtempSync(join(tmpdir(), "fakes-bundles-"));
  for (const name of ["openhands-app.js", "agent-server.js", "llm-gateway.js"]) copyFileSync(join(root, "dist", name), join(dir, name));
}, 60_000);

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

/** Starts a bundle with exactly `env` (plus PATH) and resolves with its first output line, or its exit. */
function run(
  bundle: string,
  env: Record<string, string>,
  args: string[] = [],
): Promise<{ child: ChildProcess; line: string; code: number | null }> {
  const child = spawn(process.execPath, [join(dir, bundle), ...args], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  return new Promise((resolve) => {
    let output = "";
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes("\n")) resolve({ child, line: output.split("\n")[0]!, code: null });
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => resolve({ child, line: output.trim(), code }));
  });
}

test.each([["1.7.0"], ["1.11.0"]])("GIVEN OPENHANDS_VERSION=%s THEN the app bundle serves /health and the SPA", async (version) => {
  const port = await freePort();
  const { child, line } = await run("openhands-app.js", {
    OPENHANDS_VERSION: version,
    FAKE_LISTEN_HOST: "127.0.0.1",
    FAKE_LISTEN_PORT: String(port),
  });
  expect(line).toContain(`openhands app ready (${version})`);
  expect(await (await fetch(`http://127.0.0.1:${port}/health`)).json()).toBe("OK");
  expect(await (await fetch(`http://127.0.0.1:${port}/conversations/x`)).text()).toContain("<title>OpenHands</title>");
  child.kill("SIGTERM");
});

test("GIVEN no OPENHANDS_VERSION THEN the app bundle exits non-zero and says which variable", async () => {
  const { code, line } = await run("openhands-app.js", {});
  expect(code).not.toBe(0);
  expect(line).toContain("OPENHANDS_VERSION");
});

test.each([
  ["1.19.1", "OK"],
  ["1.34.0", { status: "ok" }],
])("GIVEN AGENT_SERVER_VERSION=%s THEN the agent-server bundle listens on --port and its vscode/worker ports", async (version, health) => {
  const [api, vscode, worker1, worker2] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const { child, line } = await run(
    "agent-server.js",
    {
      AGENT_SERVER_VERSION: `${version}-python`,
      OH_SESSION_API_KEYS_0: "key",
      OH_VSCODE_PORT: String(vscode),
      WORKER_1: String(worker1),
      WORKER_2: String(worker2),
    },
    ["--port", String(api)],
  );
  expect(line).toContain(`agent-server ready (${version})`);
  expect(await (await fetch(`http://127.0.0.1:${api}/health`)).json()).toEqual(health);
  expect((await fetch(`http://127.0.0.1:${api}/api/conversations/search`)).status).toBe(401);
  expect((await fetch(`http://127.0.0.1:${vscode}/?tkn=key`)).status).toBe(200);
  expect((await fetch(`http://127.0.0.1:${worker2}/`)).status).toBe(200);
  child.kill("SIGTERM");
});

test("GIVEN LITELLM_MASTER_KEY THEN the gateway bundle checks it; without it, it does not start", async () => {
  const port = await freePort();
  const { child, line } = await run("llm-gateway.js", {
    LITELLM_MASTER_KEY: "sk-m",
    FAKE_LISTEN_HOST: "127.0.0.1",
    FAKE_LISTEN_PORT: String(port),
  });
  expect(line).toContain("llm gateway ready");
  expect((await fetch(`http://127.0.0.1:${port}/v1/models`, { headers: { authorization: "Bearer sk-m" } })).status).toBe(200);
  expect((await fetch(`http://127.0.0.1:${port}/v1/models`, { headers: { authorization: "Bearer sk-x" } })).status).toBe(401);
  child.kill("SIGTERM");
  const refused = await run("llm-gateway.js", {});
  expect(refused.code).not.toBe(0);
  expect(refused.line).toContain("LITELLM_MASTER_KEY");
});
