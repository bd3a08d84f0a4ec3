/**
 * `pnpm bench` (run under docker-lab: a real Docker engine): figures of the whole stack, printed, never asserted.
 * - what each layer costs: the same API request (GET /api/v1/settings of one user's OpenHands) sent
 *   1. through the edge (TLS, viewer-request and origin-response bundles) and the proxy, with the session cookie;
 *   2. to the proxy directly, with identity headers signed like the edge signs them;
 *   3. to the user's app container directly;
 *   sequential requests on kept-alive connections, p50/p99 in ms and the ratios;
 * - first request of a new user until their app answers through the proxy (ensure to healthy), and of a user
 *   whose app is stopped;
 * - a conversation start until its sandbox is ready (start task READY), then the first request to it;
 * - Docker API calls, counted by the counting socket in front of dockerd that the spawner uses (its own calls and
 *   every user's filtered ones): per new user, per ensure (app stopped, app running), per conversation start.
 */
import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { join } from "node:path";
import { identitySignature, names } from "@openhands-team/contracts";
import { openBrowser } from "./browser";
import { readEnvironment } from "./environment";
import { performance } from "node:perf_hooks";
import { docker, ensureImage } from "@openhands-team/docker-lab";
import { stopAll } from "./processes";
import { AGENT_SERVER_IMAGE, APP_HOST, APP_IMAGE, LLM_GATEWAY_IMAGE, startStack, type Stack } from "./stack";

const REQUESTS = readEnvironment().benchRequests;
const ARTIFACTS = join(__dirname, "..", "artifacts", "bench");

type Send = () => Promise<number>;

function httpGet(
  agent: HttpAgent,
  port: number,
  host: string,
  path: string,
  headers: () => Record<string, string>,
  address = "127.0.0.1",
): Send {
  return () =>
    new Promise((resolve, reject) => {
      const req = httpRequest({ host: address, port, path, agent, headers: { host, ...headers() } }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      });
      req.on("error", reject);
      req.end();
    });
}

function httpsGet(agent: HttpsAgent, port: number, host: string, path: string, headers: Record<string, string>): Send {
  return () =>
    new Promise((resolve, reject) => {
      const req = httpsRequest(
        { host: "127.0.0.1", port, servername: host, rejectUnauthorized: false, path, agent, headers: { host, ...headers } },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", reject);
      req.end();
    });
}

async function measure(name: string, send: Send): Promise<{ name: string; p50: number; p99: number }> {
  for (let i = 0; i < 20; i += 1) await send(); // warm-up: connections, caches, JIT
  const times: number[] = [];
  for (let i = 0; i < REQUESTS; i += 1) {
    const started = process.hrtime.bigint();
    const status = await send();
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
    if (status !== 200) throw new Error(`${name}: answered ${status}`);
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
  return { name, p50: at(0.5), p99: at(0.99) };
}

async function sessionCookie(stack: Stack): Promise<string> {
  const browser = await openBrowser("bench", stack.hostResolverRules, ARTIFACTS);
  try {
    await browser.page.goto(`${stack.appOrigin}/`);
    await browser.page.fill('input[name="login"]', "alice");
    await browser.page.fill('input[name="password"]', "any-password");
    await browser.page.click('button[type="submit"]');
    await browser.page.waitForSelector("#sandbox-prefix", { timeout: 30_000 });
    const cookies = await browser.context.cookies(stack.appOrigin);
    return cookies.map((cookie) => `${cookie.name}=${cookie.value}`).join("; ");
  } finally {
    await browser.close();
  }
}

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Engine calls since `since`, total and the most frequent kinds. */
function describeCalls(stack: Stack, since: number): { total: number; detail: string } {
  const counts = stack.engine.counter.countsSince(since);
  const total = [...counts.values()].reduce((sum, n) => sum + n, 0);
  const detail = [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([key, n]) => `${key} x${n}`)
    .join(", ");
  return { total, detail };
}

/** POST /v1/users/<slug>/ensure on the spawner's API, as the proxy sends it; the status. */
async function ensure(stack: Stack, login: string): Promise<number> {
  const user = stack.user(login);
  const response = await fetch(`${stack.spawnerUrl}/v1/users/${user.slug}/ensure`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ sub: user.sub, email: `${login}@example.test` }),
  });
  await response.arrayBuffer();
  return response.status;
}

async function main(): Promise<void> {
  let t = performance.now();
  for (const image of [APP_IMAGE, AGENT_SERVER_IMAGE, LLM_GATEWAY_IMAGE]) await ensureImage(image);
  const imagesMs = performance.now() - t;
  t = performance.now();
  const stack = await startStack({ artifactsDir: ARTIFACTS, idleMinutes: 30 });
  const stackMs = performance.now() - t;
  try {
    const alice = stack.user("alice");
    const cookie = await sessionCookie(stack);
    const signed =
      (login: string, host = APP_HOST) =>
      () => {
        const user = stack.user(login);
        const exp = Math.floor(Date.now() / 1000) + 60;
        const identity = { sub: user.sub, slug: user.slug, email: `${login}@example.test` };
        return {
          "x-oh-user": identity.sub,
          "x-oh-user-slug": identity.slug,
          "x-oh-email": identity.email,
          "x-oh-exp": String(exp),
          "x-oh-sig": identitySignature(stack.identityKey, host, identity, exp),
        };
      };
    const appAddress = (await stack.engine.container(names.appContainer(alice.slug)))?.ip;
    if (!appAddress) throw new Error("alice's app has no address");

    const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
    const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 1 });
    const results = [
      await measure(
        "edge harness + proxy (TLS)",
        httpsGet(httpsAgent, stack.edge.port, APP_HOST, "/api/v1/settings", { cookie, accept: "application/json" }),
      ),
      await measure("proxy (signed identity)", httpGet(httpAgent, stack.proxyPort, APP_HOST, "/api/v1/settings", signed("alice"))),
      await measure(
        "app container directly",
        httpGet(new HttpAgent({ keepAlive: true, maxSockets: 1 }), 3000, appAddress, "/api/v1/settings", () => ({}), appAddress),
      ),
    ];
    httpAgent.destroy();
    httpsAgent.destroy();

    // First request of a user who has never been here until their app answers through the proxy: the proxy's ensure
    // (network, folders, database, create, start, health, settings seeded) on the real engine. Engine calls counted
    // from the first request to the answer (the proxy asks the spawner again on each retry).
    const coldAgent = new HttpAgent({ keepAlive: false });
    const cold: number[] = [];
    const coldCalls: number[] = [];
    let coldDetail = "";
    for (const login of ["carol", "dave", "erin"]) {
      const since = stack.engine.counter.calls.length;
      const started = performance.now();
      for (;;) {
        const status = await httpGet(coldAgent, stack.proxyPort, APP_HOST, "/api/v1/settings", signed(login))();
        if (status === 200) break;
        if (performance.now() - started > 120_000) throw new Error(`${login}'s app did not answer within 120 s (last ${status})`);
        await sleep(50);
      }
      cold.push(performance.now() - started);
      const calls = describeCalls(stack, since);
      coldCalls.push(calls.total);
      coldDetail = calls.detail;
    }

    // Ensure of a user whose app runs (what every route-cache miss of the proxy costs).
    let since = stack.engine.counter.calls.length;
    for (let i = 0; i < 50; i += 1) if ((await ensure(stack, "carol")) !== 200) throw new Error("carol's ensure did not answer 200");
    const hotCalls = describeCalls(stack, since).total / 50;

    // Ensure of a user whose app is stopped (as a cull leaves it): start of the existing container, health.
    const stopped: number[] = [];
    let stoppedCalls = { total: 0, detail: "" };
    for (let i = 0; i < 3; i += 1) {
      docker(["stop", "--time", "10", names.appContainer(stack.user("dave").slug)]);
      for (let wait = 0; wait < 100 && (await stack.engine.container(names.appContainer(stack.user("dave").slug)))?.running; wait += 1)
        await sleep(50);
      await sleep(500); // the spawner sees the engine's die event
      since = stack.engine.counter.calls.length;
      const started = performance.now();
      while ((await ensure(stack, "dave")) !== 200) {
        if (performance.now() - started > 60_000) throw new Error("dave's stopped app did not come back within 60 s");
        await sleep(50);
      }
      stopped.push(performance.now() - started);
      stoppedCalls = describeCalls(stack, since);
    }

    // A sandbox from a conversation start (POST /api/v1/app-conversations through the proxy): the app creates it
    // through its filtered Docker API, waits for its agent-server, and the start task turns READY; then the first
    // request to the sandbox through the proxy (its runtime host, with the session key).
    const sandbox: number[] = [];
    const sandboxFirst: number[] = [];
    const sandboxCalls: number[] = [];
    let sandboxDetail = "";
    for (const login of ["carol", "dave", "erin"]) {
      const identity = signed(login);
      const call = (method: string, path: string, body?: string): Promise<any> =>
        new Promise((resolve, reject) => {
          const req = httpRequest(
            {
              host: "127.0.0.1",
              port: stack.proxyPort,
              method,
              path,
              headers: { host: APP_HOST, "content-type": "application/json", ...identity() },
            },
            (res) => {
              const chunks: Buffer[] = [];
              res.on("data", (chunk: Buffer) => chunks.push(chunk));
              res.on("end", () => {
                const text = Buffer.concat(chunks).toString("utf8");
                if ((res.statusCode ?? 0) >= 300) reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`));
                else resolve(JSON.parse(text));
              });
            },
          );
          req.on("error", reject);
          req.end(body);
        });
      since = stack.engine.counter.calls.length;
      const started = performance.now();
      const task = await call("POST", "/api/v1/app-conversations", JSON.stringify({ initial_message: null }));
      let ready: any;
      for (;;) {
        [ready] = await call("GET", `/api/v1/app-conversations/start-tasks?ids=${task.id}`);
        if (ready?.status === "READY") break;
        if (ready?.status === "ERROR" || performance.now() - started > 120_000)
          throw new Error(`${login}'s start task: ${JSON.stringify(ready)}`);
        await sleep(100);
      }
      sandbox.push(performance.now() - started);
      const calls = describeCalls(stack, since);
      sandboxCalls.push(calls.total);
      sandboxDetail = calls.detail;
      const [conversation] = await call("GET", `/api/v1/app-conversations?ids=${ready.app_conversation_id}`);
      const runtime = new URL(conversation.conversation_url);
      const firstStarted = performance.now();
      for (;;) {
        const status = await httpGet(new HttpAgent(), stack.proxyPort, runtime.hostname, `${runtime.pathname}`, () => ({
          "x-session-api-key": conversation.session_api_key,
        }))();
        if (status === 200) break;
        if (performance.now() - firstStarted > 30_000)
          throw new Error(`${login}'s sandbox did not answer through the proxy (last ${status})`);
        await sleep(50);
      }
      sandboxFirst.push(performance.now() - firstStarted);
    }

    const direct = results[2]!;
    const out: string[] = [];
    out.push("", `e2e bench on the lab's real Docker engine: ${REQUESTS} sequential GET /api/v1/settings per path, kept-alive connections`);
    out.push(`${"path".padEnd(30)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"p50 vs app".padStart(11)}`);
    for (const result of results) {
      out.push(
        `${result.name.padEnd(30)} ${result.p50.toFixed(2).padStart(8)} ${result.p99.toFixed(2).padStart(8)} ` +
          `${`${(result.p50 / direct.p50).toFixed(1)}x`.padStart(11)}`,
      );
    }
    const list = (values: readonly number[]) => values.map((value) => value.toFixed(0)).join(", ");
    out.push(
      "",
      "| figure | value |",
      "|---|---|",
      `| stand-in images ready in this engine (app, agent-server, LLM gateway) | ${imagesMs.toFixed(0)} ms |`,
      `| stack start (PostgreSQL, LLM gateway container, spawner, nginx, OIDC provider, edge) | ${stackMs.toFixed(0)} ms |`,
      `| first request of a new user to their app answering through the proxy (ensure to healthy, settings seeded), median of ` +
        `${cold.length} | ${median(cold).toFixed(0)} ms (${list(cold)}) |`,
      `| same, a user whose app is stopped (as a cull leaves it), median of ${stopped.length} | ${median(stopped).toFixed(0)} ms ` +
        `(${list(stopped)}) |`,
      `| conversation start to start task READY (sandbox created through the filter, started, agent-server healthy), median of ` +
        `${sandbox.length} | ${median(sandbox).toFixed(0)} ms (${list(sandbox)}) |`,
      `| then first request to the sandbox through the proxy (runtime host, ` +
        `session key), median | ${median(sandboxFirst).toFixed(0)} ms |`,
      `| Docker API calls, new user's first request to app answering | ${coldCalls.join(", ")} (last: ${coldDetail}) |`,
      `| Docker API calls per ensure, app stopped | ${stoppedCalls.total} (${stoppedCalls.detail}) |`,
      `| Docker API calls per ensure, app running | ${hotCalls} |`,
      `| Docker API calls per conversation start (app's filtered calls and the spawner's) | ${sandboxCalls.join(", ")} (last: ` +
        `${sandboxDetail}) |`,
    );
    process.stdout.write(`${out.join("\n")}\n`);
  } finally {
    await stack.stop();
    await stopAll();
  }
}

main().catch(async (error: Error) => {
  process.stderr.write(`bench failed: ${error.stack ?? error.message}\n`);
  await stopAll();
  process.exit(1);
});
