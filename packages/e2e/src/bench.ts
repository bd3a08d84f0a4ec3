/**
 * `pnpm bench`: what each layer of the chain costs, measured side by side in one run on the same stack:
 * the same API request (GET /api/v1/settings of one user's OpenHands) sent
 *   1. through the edge (TLS, viewer-request and origin-response bundles) and the proxy, with the session cookie;
 *   2. to the proxy directly, with identity headers signed like the edge signs them;
 *   3. to the user's app directly;
 * plus the cold start of a new user (first request to their app answering through the proxy).
 * Sequential requests on kept-alive connections; prints p50/p99 in ms and the ratios.
 */
import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { join } from "node:path";
import { identitySignature } from "@openhands-team/edge-auth/src/shared/identity";
import { openBrowser } from "./browser";
import { readEnvironment } from "./environment";
import { stopAll } from "./processes";
import { APP_HOST, startStack, type Stack } from "./stack";

const REQUESTS = readEnvironment().benchRequests;
const ARTIFACTS = join(__dirname, "..", "artifacts", "bench");

type Send = () => Promise<number>;

function httpGet(agent: HttpAgent, port: number, host: string, path: string, headers: () => Record<string, string>, address = "127.0.0.1"): Send {
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
      const req = httpsRequest({ host: "127.0.0.1", port, servername: host, rejectUnauthorized: false, path, agent, headers: { host, ...headers } }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      });
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

async function main(): Promise<void> {
  const stack = await startStack({ artifactsDir: ARTIFACTS, idleMinutes: 30 });
  try {
    const alice = stack.user("alice");
    const cookie = await sessionCookie(stack);
    const signed = (login: string) => () => {
      const user = stack.user(login);
      const exp = Math.floor(Date.now() / 1000) + 60;
      const identity = { sub: user.sub, slug: user.slug, email: `${login}@example.test` };
      return {
        "x-oh-user": identity.sub,
        "x-oh-user-slug": identity.slug,
        "x-oh-email": identity.email,
        "x-oh-exp": String(exp),
        "x-oh-sig": identitySignature(stack.identityKey, APP_HOST, identity, exp),
      };
    };
    const appAddress = (await stack.engine.container(`oh-app-${alice.slug}`))?.ip;
    if (!appAddress) throw new Error("alice's app has no address");

    const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
    const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 1 });
    const results = [
      await measure("edge harness + proxy (TLS)", httpsGet(httpsAgent, stack.edge.port, APP_HOST, "/api/v1/settings", { cookie, accept: "application/json" })),
      await measure("proxy (signed identity)", httpGet(httpAgent, stack.proxyPort, APP_HOST, "/api/v1/settings", signed("alice"))),
      await measure("app directly", httpGet(new HttpAgent({ keepAlive: true, maxSockets: 1 }), 3000, appAddress, "/api/v1/settings", () => ({}), appAddress)),
    ];

    // Cold start of a user who has never been here: first request until the app answers through the proxy.
    const coldAgent = new HttpAgent({ keepAlive: false });
    const started = Date.now();
    for (;;) {
      const status = await httpGet(coldAgent, stack.proxyPort, APP_HOST, "/api/v1/settings", signed("carol"))();
      if (status === 200) break;
      if (Date.now() - started > 60_000) throw new Error(`carol's app did not answer within 60 s (last ${status})`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const coldMs = Date.now() - started;

    const direct = results[2]!;
    process.stdout.write(`\ne2e bench: ${REQUESTS} sequential GET /api/v1/settings per path, kept-alive connections\n`);
    process.stdout.write(`${"path".padEnd(30)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"p50 vs app".padStart(11)}\n`);
    for (const result of results) {
      process.stdout.write(
        `${result.name.padEnd(30)} ${result.p50.toFixed(2).padStart(8)} ${result.p99.toFixed(2).padStart(8)} ${`${(result.p50 / direct.p50).toFixed(1)}x`.padStart(11)}\n`,
      );
    }
    process.stdout.write(`cold start of a new user (ensure, database, network, app healthy, settings seeded): ${coldMs} ms (fake app with no boot delay)\n`);
    httpAgent.destroy();
    httpsAgent.destroy();
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
