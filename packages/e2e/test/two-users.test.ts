/**
 * System test: two people log in through the real edge bundles, the real runtime proxy (Debian nginx + Lua), the
 * real spawner and a real Docker engine (docker-lab), and each reaches only their own OpenHands and sandboxes.
 *
 * What is not real here, and what stands in for it (see README "What is real"):
 * - CloudFront: edge-auth's harness runs the viewer-request and origin-response bundles on every request;
 * - Cognito: edge-auth's loopback OIDC provider (oidc-provider);
 * - the OpenHands app 1.7.0, agent-server 1.19.1 and LiteLLM images (no registry here): docker-lab's stand-in
 *   images, which run the contract fakes of @openhands-team/openhands-fakes in real containers;
 * - Aurora: Debian's PostgreSQL.
 *
 * The tests run in order and share one stack: the later ones build on the logins and sandboxes of the first.
 * Screenshots of the main steps go to artifacts/ (git-ignored), with the logs of every process.
 */
import { appendFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import type { Page, Response } from "playwright-core";
import { openBrowser, type UserBrowser } from "../src/browser";
import { EdgeClient, openSocket } from "../src/edge-client";
import { engineCall } from "../src/engine";
import { startHostileWorker } from "../src/hostile-worker";
import { pageColours, proxyLuaDir, proxyPageHtml, screenshotBothSchemes, watchCspViolations } from "../src/pages-tour";
import { stopAll } from "../src/processes";
import { docker } from "@openhands-team/docker-lab";
import { identitySignature } from "@openhands-team/contracts";
import { AGENT_SERVER_IMAGE, APP_HOST, APP_IMAGE, LLM_MODEL, RUNTIME_DOMAIN, startStack, type Stack, type TestUser } from "../src/stack";

const ARTIFACTS = join(__dirname, "..", "artifacts");
/** Long enough that nobody is culled while the tests run, until the cull tests restart the spawner with the short one. */
const IDLE_MINUTES = 10;
const CULL_IDLE_MINUTES = 0.25;

interface Session {
  readonly user: TestUser;
  readonly browser: UserBrowser;
  /** JSON bodies of every app-host API response and of the runtime hosts, as the browser received them. */
  readonly bodies: string[];
  /** Statuses of main-frame navigations on the app host, in order. */
  readonly navigations: Array<{ status: number; url: string }>;
  sandbox?: SandboxView;
}

interface SandboxView {
  readonly sandboxId: string;
  /** The sandbox container's host name: its pages and the agent's echo name it (a marker of its content). */
  readonly hostname: string;
  readonly conversationId: string;
  readonly conversationUrl: string;
  readonly sessionKey: string;
  readonly urls: Record<string, string>;
}

let stack: Stack;
let edge: EdgeClient;
const sessions: Record<"alice" | "bob", Session> = {} as Record<"alice" | "bob", Session>;

function watch(session: Omit<Session, "sandbox">): void {
  session.browser.page.context().on("response", (response: Response) => {
    const url = new URL(response.url());
    const type = response.headers()["content-type"] ?? "";
    if (response.request().isNavigationRequest() && url.hostname === APP_HOST)
      session.navigations.push({ status: response.status(), url: response.url() });
    if (!type.includes("json")) return;
    if (url.hostname !== APP_HOST && !url.hostname.endsWith(`.${RUNTIME_DOMAIN}`)) return;
    response
      .text()
      .then((text) => session.bodies.push(text))
      .catch(() => undefined);
  });
}

async function waitForApp(page: Page): Promise<string> {
  await page.waitForSelector("#sandbox-prefix", { timeout: 30_000 });
  return (await page.textContent("#sandbox-prefix")) ?? "";
}

/** OIDC login in the browser: the edge sends it to the provider, the provider's form, back through the callback. */
async function logIn(session: Session): Promise<void> {
  const { page } = session.browser;
  await page.goto(`${stack.appOrigin}/`);
  await page.waitForSelector('input[name="login"]', { timeout: 15_000 });
  expect(new URL(page.url()).origin).toBe(stack.oidcIssuer);
  await session.browser.screenshot("login-form");
  await page.fill('input[name="login"]', session.user.login);
  await page.fill('input[name="password"]', "any-password");
  await page.click('button[type="submit"]');
}

function internalUrlIn(text: string): string | undefined {
  const match = new RegExp(
    `https?://(${stack.subnetPrefix.replace(".", "\\.")}\\.\\d+\\.\\d+|127\\.0\\.0\\.1|localhost|10\\.\\d+\\.\\d+\\.\\d+)(:\\d+)?`,
  ).exec(text);
  return match?.[0];
}

/** The identity headers the edge adds for `user` on `host`, signed with the stack's key. */
function signedIdentity(target: Stack, user: TestUser, host: string): Record<string, string> {
  const exp = Math.floor(Date.now() / 1000) + 60;
  const identity = { sub: user.sub, slug: user.slug, email: `${user.login}@example.test` };
  return {
    "x-oh-user": identity.sub,
    "x-oh-user-slug": identity.slug,
    "x-oh-email": identity.email,
    "x-oh-exp": String(exp),
    "x-oh-sig": identitySignature(target.identityKey, host, identity, exp),
  };
}

/** A POST straight to nginx (what the edge would forward), its status. */
function proxyPost(target: Stack, host: string, path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: "127.0.0.1", port: target.proxyPort, method: "POST", path, headers: { host, "content-type": "text/plain", ...headers } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on("error", reject);
    req.end("steal");
  });
}

function runtimeUrlOf(port: string | number, slug: string, path = "/"): string {
  return `https://${port}-${slug}.${RUNTIME_DOMAIN}${path}`;
}

beforeAll(async () => {
  rmSync(ARTIFACTS, { recursive: true, force: true });
  mkdirSync(join(ARTIFACTS, "logs"), { recursive: true });
  stack = await startStack({ artifactsDir: ARTIFACTS, idleMinutes: IDLE_MINUTES });
  edge = new EdgeClient(stack.edge.port);
  for (const login of ["alice", "bob"] as const) {
    const session = {
      user: stack.user(login),
      browser: await openBrowser(login, stack.hostResolverRules, ARTIFACTS),
      bodies: [],
      navigations: [],
    };
    watch(session);
    sessions[login] = session;
  }
}, 90_000);

beforeEach(() => {
  appendFileSync(join(ARTIFACTS, "logs", "test-steps.log"), `${new Date().toISOString()} ${expect.getState().currentTestName ?? ""}\n`);
});

afterAll(async () => {
  for (const session of Object.values(sessions)) await session.browser?.close().catch(() => undefined);
  if (stack) await stack.stop();
  await stopAll();
}, 60_000);

describe("two people on one host", () => {
  test.each(["alice", "bob"] as const)(
    "GIVEN %s has never used the service WHEN they log in THEN the spawner " +
      "starts their own OpenHands, with the starting page in between",
    async (login) => {
      const session = sessions[login];
      await logIn(session);
      const { page } = session.browser;
      await page.waitForSelector("text=Starting your OpenHands", { timeout: 20_000 });
      await session.browser.screenshot("starting-page");
      const prefix = await waitForApp(page);
      await session.browser.screenshot("own-openhands");

      expect(prefix).toBe(`oh-sbx-${session.user.slug}-`);
      expect(session.navigations.some((nav) => nav.status === 503)).toBe(true);
      expect(session.navigations.at(-1)?.status).toBe(200);
      // The spawner seeded the LLM settings once the app was healthy: no key to type for the first conversation.
      await page.waitForFunction((model) => document.querySelector("#llm-model")?.textContent === model, LLM_MODEL);
      // A real container of the app image, at .2 of the user's own subnet.
      const container = await stack.engine.container(`oh-app-${session.user.slug}`);
      expect(container).toMatchObject({ running: true, image: APP_IMAGE });
      expect(container!.ip).toMatch(new RegExp(`^${stack.subnetPrefix.replace(".", "\\.")}\\.\\d+\\.2$`));
      // Its sandboxes come from the one agent-server image the spawner is configured with, through its filtered socket.
      const [repository, tag] = [
        AGENT_SERVER_IMAGE.slice(0, AGENT_SERVER_IMAGE.lastIndexOf(":")),
        AGENT_SERVER_IMAGE.slice(AGENT_SERVER_IMAGE.lastIndexOf(":") + 1),
      ];
      expect(container!.env).toEqual(
        expect.arrayContaining([
          `AGENT_SERVER_IMAGE_REPOSITORY=${repository}`,
          `AGENT_SERVER_IMAGE_TAG=${tag}`,
          "DOCKER_HOST=unix:///run/ohdocker/docker.sock",
        ]),
      );
    },
  );

  test.each(["alice", "bob"] as const)(
    "GIVEN %s in their OpenHands WHEN they start a conversation THEN the sandbox's agent-server API, its events WebSocket and a " +
      "worker port answer on runtime hosts",
    async (login) => {
      const session = sessions[login];
      const { page } = session.browser;
      await page.click("#new-conversation");
      await page.waitForFunction(() => document.querySelector("#ws-state")?.textContent === "open", undefined, { timeout: 30_000 });
      await page.waitForFunction(() => (document.querySelector("#agent-rest")?.textContent ?? "") !== "", undefined, { timeout: 15_000 });
      await page.waitForFunction(() => /echo from/.test(document.querySelector("#events")?.textContent ?? ""), undefined, {
        timeout: 15_000,
      });
      await page.waitForFunction(() => (document.querySelector("#worker-probe")?.textContent ?? "") !== "", undefined, { timeout: 15_000 });
      await session.browser.screenshot("conversation");

      const seen = await page.evaluate(() => {
        const state = (
          window as unknown as {
            __oh: {
              conversation: { id: string; sandbox_id: string; conversation_url: string; session_api_key: string };
              sandbox: { exposed_urls: Array<{ name: string; url: string }> };
            };
          }
        ).__oh;
        return {
          sandboxId: state.conversation.sandbox_id,
          conversationId: state.conversation.id,
          conversationUrl: state.conversation.conversation_url,
          sessionKey: state.conversation.session_api_key,
          urls: Object.fromEntries(state.sandbox.exposed_urls.map((exposed) => [exposed.name, exposed.url])),
        };
      });
      const sandbox = await stack.engine.container(seen.sandboxId);
      expect(sandbox).toBeDefined();
      const view: SandboxView = { ...seen, hostname: sandbox!.hostname };
      session.sandbox = view;
      const sandboxPrefix = `oh-sbx-${session.user.slug}-`;
      expect(view.sandboxId.startsWith(sandboxPrefix)).toBe(true);
      // The app created it through its filtered Docker API: a real container of the one agent-server image,
      // in the sandbox range (.128/25) of the same user's subnet as the app.
      const app = await stack.engine.container(`oh-app-${session.user.slug}`);
      expect(sandbox).toMatchObject({ running: true, image: AGENT_SERVER_IMAGE, network: app!.network });
      expect(Number(sandbox!.ip.split(".")[3])).toBeGreaterThanOrEqual(128);
      // OpenHands needs the agent-server image to carry exactly one tag.
      const image = await engineCall(stack.engine.socketPath, "GET", `/images/${AGENT_SERVER_IMAGE}/json`);
      expect((image.body as { RepoTags: string[] }).RepoTags).toEqual([AGENT_SERVER_IMAGE]);
      expect(sandbox!.ip.split(".").slice(0, 3)).toEqual(app!.ip.split(".").slice(0, 3));
      // Agent-server REST (cross-origin with the session key) reached this user's sandbox.
      expect(await page.textContent("#agent-rest")).toBe(`ok ${view.sandboxId}`);
      // Events WebSocket with the key in the query, as the 1.7.0 frontend opens it: the agent's echo came back.
      expect(await page.textContent("#events")).toContain(`echo from ${view.hostname}: hello`);

      // The App tab's uncredentialed probe of the WORKER URL learns whether something answers, and nothing more.
      expect(await page.textContent("#worker-probe")).toBe("status 200, no content");

      // The sandbox called its app back (webhook base http://host.docker.internal:3000, mapped by the spawner's
      // filter to the user's gateway) through the spawner's relay, which reached this user's app.
      const webhooks = await page.evaluate(async () => (await fetch("/api/v1/e2e/webhooks")).json());
      expect(webhooks).toContain("/api/v1/webhooks/conversations");

      // A worker port, opened like the App tab's link: the runtime host hands off through the app host's ticket.
      const worker = await page.context().newPage();
      await worker.goto(view.urls.WORKER_1!);
      await worker.waitForSelector("#worker", { timeout: 15_000 });
      expect(await worker.textContent("#worker")).toBe(`WORKER_1 of ${view.hostname}`);
      expect(new URL(worker.url()).hostname).toBe(new URL(view.urls.WORKER_1!).hostname);
      await worker.screenshot({ path: join(ARTIFACTS, `worker-${login}.png`) });
      await worker.close();
    },
  );

  test(
    "GIVEN both users' pages WHEN the browser reads sandbox URLs THEN every one is a public runtime URL of its own user, never an " +
      "internal address",
    () => {
      for (const session of Object.values(sessions)) {
        const view = session.sandbox!;
        const urls = [view.conversationUrl, ...Object.values(view.urls)];
        expect(urls.length).toBeGreaterThanOrEqual(5);
        for (const url of urls) {
          const parsed = new URL(url);
          expect(parsed.protocol).toBe("https:");
          expect(parsed.port).toBe("");
          expect(parsed.hostname).toMatch(new RegExp(`^[1-9][0-9]{0,4}-${session.user.slug}\\.${RUNTIME_DOMAIN.replace(/\./g, "\\.")}$`));
        }
        expect(session.bodies.length).toBeGreaterThan(5);
        const leaks = session.bodies.map(internalUrlIn).filter(Boolean);
        expect(leaks).toEqual([]);
      }
    },
  );

  test("GIVEN each person's own gateway key WHEN their agent calls the model THEN answered and recorded under them; others refused", () => {
    // The settings the spawner seeded send the agent to http://host.docker.internal:4000 with the person's own key; the
    // filter maps host.docker.internal to the user's gateway, where the gateway stand-in listens (host network).
    const call = (who: "alice" | "bob", key: string) =>
      docker(
        [
          "exec",
          sessions[who].sandbox!.sandboxId,
          "/usr/bin/node",
          "-e",
          `
        fetch("http://host.docker.internal:4000/v1/chat/completions", {
          method: "POST",
          headers: { "content-type": "application/json", authorization: "Bearer " + process.argv[1] },
          body: JSON.stringify({
            model: ${JSON.stringify(LLM_MODEL.replace(/^litellm_proxy\//, ""))},
            messages: [{ role: "user", content: "ping from " + process.argv[2] }],
          }),
        }).then(async (r) => console.log(r.status, await r.text()), (e) => console.log(0, e.message));`,
          key,
          who,
        ],
        { allowFailure: true },
      ).stdout.trim();
    const [alice, bob] = [sessions.alice.user, sessions.bob.user];
    const [aliceKey, bobKey] = [stack.llmUserKey(alice.slug), stack.llmUserKey(bob.slug)];
    expect(aliceKey).not.toBe(bobKey);
    // What the spawner seeded: each person's settings hold their own key.
    const settingsKey = (slug: string) =>
      JSON.parse(readFileSync(join(stack.root, "efs", "users", slug, "openhands", "settings.json"), "utf8")).agent_settings.llm.api_key;
    expect(settingsKey(alice.slug)).toBe(aliceKey);
    expect(settingsKey(bob.slug)).toBe(bobKey);

    const answer = call("bob", bobKey);
    expect(answer).toMatch(/^200 /);
    expect(JSON.parse(answer.slice(4)).choices[0].message.content).toBe("Deterministic answer to: ping from bob");
    expect(call("alice", aliceKey)).toMatch(/^200 /);
    // Impersonation: bob's MAC under alice's slug is not alice's key.
    expect(call("bob", `sk-oh-${alice.slug}-${bobKey.slice(-43)}`)).toMatch(/^401 /);
    // Master key theft: even the master key is refused from a user's bridge.
    expect(call("bob", stack.llmGatewayKey)).toMatch(/^401 .*host only/);
    expect(call("bob", "not-the-key")).toMatch(/^401 /);
    // Revocation: a person disabled in the user pool loses the gateway, the others keep it.
    stack.disableLlmUser(bob.slug, true);
    try {
      expect(call("bob", bobKey)).toMatch(/^401 .*revoked/);
      expect(call("alice", aliceKey)).toMatch(/^200 /);
    } finally {
      stack.disableLlmUser(bob.slug, false);
    }
    expect(call("bob", bobKey)).toMatch(/^200 /);
    // Usage per person: the gateway's usage records name each caller, and hold no prompt.
    const usage = docker(["logs", "e2e-llm-gateway"], { allowFailure: true })
      .stdout.split("\n")
      .filter((line) => line.startsWith('{"event":"llm_usage"'))
      .map((line) => JSON.parse(line) as { user: string; input_tokens: number });
    expect(usage.filter((r) => r.user === bob.slug).length).toBeGreaterThanOrEqual(2);
    expect(usage.filter((r) => r.user === alice.slug).length).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(usage)).not.toContain("ping from");
  });

  test("GIVEN both people's apps and sandboxes THEN neither the master key nor the other's key is in their containers, files", async () => {
    const secretPart = stack.llmGatewayKey.slice("sk-".length);
    const filesUnder = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
        const path = join(dir, entry.name);
        return entry.isDirectory() ? filesUnder(path) : entry.isFile() ? [path] : [];
      });
    for (const [who, other] of [
      ["alice", "bob"],
      ["bob", "alice"],
    ] as const) {
      const { slug } = sessions[who].user;
      const othersKey = stack.llmUserKey(sessions[other].user.slug);
      const containers = [`oh-app-${slug}`, ...(await stack.engine.names(`oh-sbx-${slug}-`))];
      expect(containers.length).toBeGreaterThanOrEqual(2);
      for (const name of containers) {
        const inspected = docker(["inspect", name]).stdout;
        expect({ name, hasMasterKey: inspected.includes(secretPart), hasOthersKey: inspected.includes(othersKey) }).toEqual({
          name,
          hasMasterKey: false,
          hasOthersKey: false,
        });
      }
      const files = filesUnder(join(stack.root, "efs", "users", slug));
      expect(files.some((file) => file.endsWith("settings.json"))).toBe(true);
      for (const file of files) {
        const text = readFileSync(file).toString("latin1");
        expect({ file, hasMasterKey: text.includes(secretPart), hasOthersKey: text.includes(othersKey) }).toEqual({
          file,
          hasMasterKey: false,
          hasOthersKey: false,
        });
      }
    }
  });

  test(
    "GIVEN bob's sandbox WHEN it calls his app directly, and through host.docker.internal:3000 THEN only the relay answers, and only " +
      "for the callback paths",
    async () => {
      const bob = sessions.bob;
      const app = await stack.engine.container(`oh-app-${bob.user.slug}`);
      const calls = [
        [`http://${app!.ip}:3000/api/v1/sandboxes/search`, "GET"],
        ["http://host.docker.internal:3000/api/v1/sandboxes/search", "GET"],
        ["http://host.docker.internal:3000/api/v1/webhooks/conversations", "POST"],
      ];
      // One Node.js process in the sandbox makes the three calls at once (a dropped packet waits out its 3 s timeout).
      const out = docker(
        [
          "exec",
          bob.sandbox!.sandboxId,
          "/usr/bin/node",
          "-e",
          `
      Promise.all(JSON.parse(process.argv[1]).map(([url, method]) =>
        fetch(url, {
          method,
          signal: AbortSignal.timeout(3000),
          headers: { "content-type": "application/json" },
          body: method === "POST" ? "{}" : undefined,
        })
          .then((r) => r.status, (e) => e.name))).then((results) => { console.log(JSON.stringify(results)); process.exit(0); });`,
          JSON.stringify(calls),
        ],
        { allowFailure: true },
      ).stdout.trim();
      const [direct, listThroughRelay, webhookThroughRelay] = JSON.parse(out || "[]") as Array<number | string>;
      // Inter-container traffic is off on the user's bridge: the sandbox cannot reach the app at .2.
      expect(typeof direct).toBe("string");
      // The relay on the gateway passes the callback paths only (no session keys to read from the sandbox list)...
      expect(listThroughRelay).toBeGreaterThanOrEqual(400);
      expect(listThroughRelay).toBeLessThan(500);
      // ...and a webhook without the sandbox's key reaches the app, which refuses it (401), as OpenHands does.
      expect(webhookThroughRelay).toBe(401);
    },
  );

  test(
    "GIVEN a page served from alice's own runtime host (sandbox content) WHEN it posts to the app host's API with her cookies THEN " +
      "the edge refuses it and no sandbox starts",
    async () => {
      const alice = sessions.alice;
      const sandboxes = async () => (await stack.engine.names(`oh-sbx-${alice.user.slug}-`)).length;
      const before = await sandboxes();
      const callsBefore = stack.engine.counter.calls.length;
      const page = await alice.browser.page.context().newPage();
      await page.goto(alice.sandbox!.urls.WORKER_1!);
      await page.waitForSelector("#worker");
      // A "simple" cross-origin request (no preflight): the browser sends it with the same-site session cookie.
      const outcome = await page.evaluate(async (origin) => {
        try {
          const response = await fetch(`${origin}/api/v1/app-conversations`, {
            method: "POST",
            credentials: "include",
            headers: { "content-type": "text/plain" },
            body: "{}",
          });
          return `status ${response.status}`;
        } catch (error) {
          return `blocked ${(error as Error).name}`;
        }
      }, stack.appOrigin);
      await page.close();
      expect(outcome).not.toBe("status 200");
      // The request never reached the app: nothing was created on the host.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(await sandboxes()).toBe(before);
      expect(
        stack.engine.counter.calls.slice(callsBefore).filter((call) => call.method === "POST" && call.path === "/containers/create"),
      ).toEqual([]);
      const refused = await edge.send(`${stack.appOrigin}/api/v1/app-conversations`, {
        method: "POST",
        headers: {
          origin: new URL(alice.sandbox!.urls.WORKER_1!).origin,
          "sec-fetch-site": "same-site",
          "content-type": "text/plain",
          cookie: (await alice.browser.page.context().cookies(stack.appOrigin)).map((c) => `${c.name}=${c.value}`).join("; "),
        },
        body: "{}",
      });
      expect(refused.status).toBe(403);
    },
  );

  describe.each([
    ["alice", "bob"],
    ["bob", "alice"],
  ] as const)("GIVEN %s, signed in, and %s's running sandbox", (attackerName, victimName) => {
    const attacker = () => sessions[attackerName];
    const victim = () => sessions[victimName];
    const port = (url: string) => new URL(url).hostname.split("-")[0]!;

    test("WHEN they open the other's worker URL THEN the app host refuses to hand them a ticket", async () => {
      const page = await attacker().browser.page.context().newPage();
      const response = await page.goto(victim().sandbox!.urls.WORKER_1!);
      expect(response?.status()).toBe(403);
      expect(await page.content()).not.toContain(victim().sandbox!.hostname);
      await page.screenshot({ path: join(ARTIFACTS, `refused-worker-${attackerName}-to-${victimName}.png`) });
      await page.close();
    });

    test(
      "WHEN they edit the URL to the other's port under their own name, or their port under the other's name THEN nothing of the " +
        "other's answers",
      async () => {
        const page = await attacker().browser.page.context().newPage();
        const victimPort = port(victim().sandbox!.urls.WORKER_1!);
        const ownPorts = Object.values(attacker().sandbox!.urls).map(port);
        // dockerd hands out host ports per host address from 32768 on, and each user's ports are published on their own
        // gateway, so the other's port number is often one of one's own: under one's own name it is then one's own
        // sandbox (the name's owner decides, never the number), and it must show nothing of the other's.
        const underOwnName = await page.goto(runtimeUrlOf(victimPort, attacker().user.slug));
        if (!ownPorts.includes(victimPort)) expect(underOwnName?.status()).toBeGreaterThanOrEqual(400);
        expect(await page.content()).not.toContain(victim().sandbox!.hostname);
        const underTheirName = await page.goto(runtimeUrlOf(port(attacker().sandbox!.urls.WORKER_1!), victim().user.slug));
        expect(underTheirName?.status()).toBeGreaterThanOrEqual(400);
        expect(await page.content()).not.toContain(victim().sandbox!.hostname);
        await page.close();
      },
    );

    test("WHEN they call the other's agent-server API with their own key, or with none THEN it is refused", async () => {
      const target = victim().sandbox!.conversationUrl;
      const withOwnKey = await edge.send(target, { headers: { "x-session-api-key": attacker().sandbox!.sessionKey } });
      // The proxy answers a wrong key like a port with nothing behind it (404: no port enumeration).
      expect([401, 403, 404]).toContain(withOwnKey.status);
      expect(withOwnKey.body).not.toContain(victim().sandbox!.hostname);
      const withoutKey = await edge.send(target);
      expect([401, 403]).toContain(withoutKey.status);
      // The same from the attacker's page: the answer never becomes readable.
      const fromPage = await attacker().browser.page.evaluate(
        async ([url, key]) => {
          try {
            const response = await fetch(url!, { headers: { "X-Session-API-Key": key! } });
            return `status ${response.status}`;
          } catch (error) {
            return `blocked ${(error as Error).name}`;
          }
        },
        [target, attacker().sandbox!.sessionKey],
      );
      expect(fromPage).not.toBe("status 200");
    });

    test("WHEN they probe the other's worker port without credentials, as the App tab does THEN they get no content of it", async () => {
      const victimWorker = victim().sandbox!.urls.WORKER_1!;
      const probe = await edge.send(victimWorker, { headers: { origin: stack.appOrigin } });
      expect(probe.body).not.toContain(victim().sandbox!.hostname);
      expect(probe.body).not.toContain("WORKER_1 of");
      // Not a way into the agent-server either: the probe answers on worker ports only.
      const agent = await edge.send(victim().sandbox!.conversationUrl, { headers: { origin: stack.appOrigin } });
      expect([401, 403]).toContain(agent.status);
    });

    test("WHEN they open the other's events WebSocket with their own key THEN the upgrade is refused", async () => {
      const victimView = victim().sandbox!;
      const host = new URL(victimView.conversationUrl).host;
      const socketUrl = `wss://${host}/sockets/events/${victimView.conversationId}?session_api_key=${attacker().sandbox!.sessionKey}`;
      const attempt = await edge.openSocket(socketUrl);
      expect(attempt.outcome).toBe("refused");
      // What the proxy answers to exactly what the edge lets through (a key request carries no identity): 403.
      const atProxy = await openSocket(`ws://127.0.0.1:${stack.proxyPort}`, socketUrl);
      expect(atProxy).toMatchObject({ outcome: "refused", status: 403 });
      const fromPage = await attacker().browser.page.evaluate(
        (url) =>
          new Promise<string>((resolve) => {
            const socket = new WebSocket(url);
            socket.onopen = () => resolve("open");
            socket.onerror = () => resolve("error");
            socket.onclose = () => resolve("closed");
          }),
        socketUrl,
      );
      expect(fromPage).not.toBe("open");
      // And the owner's own key still works through the same path (the refusal above is about ownership).
      // (From the app's origin, as the SPA opens it: a handshake from elsewhere is refused by its Origin.)
      const owner = await edge.openSocket(socketUrl.replace(attacker().sandbox!.sessionKey, victimView.sessionKey), {
        origin: stack.appOrigin,
      });
      expect(owner.outcome).toBe("open");
    });

    test("WHEN they copy their runtime cookie onto the other's runtime host THEN it is no credential there", async () => {
      const context = attacker().browser.page.context();
      const ownWorker = new URL(attacker().sandbox!.urls.WORKER_1!);
      const runtimeCookie = (await context.cookies(ownWorker.origin)).find((cookie) => cookie.name === "__Host-oh-runtime");
      expect(runtimeCookie).toBeDefined();
      const victimWorker = victim().sandbox!.urls.WORKER_1!;
      await context.addCookies([
        {
          name: runtimeCookie!.name,
          value: runtimeCookie!.value,
          url: new URL(victimWorker).origin,
          secure: true,
          httpOnly: true,
          sameSite: "None",
        },
      ]);
      const page = await context.newPage();
      const response = await page.goto(victimWorker);
      expect(response?.status()).toBeGreaterThanOrEqual(400);
      expect(await page.content()).not.toContain(victim().sandbox!.hostname);
      await page.close();
      // The same cookie sent by hand: refused at the edge, nothing reaches the sandbox.
      const byHand = await edge.send(victimWorker, {
        headers: { cookie: `${runtimeCookie!.name}=${runtimeCookie!.value}`, accept: "application/json" },
      });
      expect(byHand.status).toBeGreaterThanOrEqual(400);
      expect(byHand.body).not.toContain(victim().sandbox!.hostname);
      await context.clearCookies({ domain: new URL(victimWorker).hostname });
    });

    test("WHEN they forge identity headers naming the other THEN they still get their own OpenHands", async () => {
      const page = await attacker().browser.page.context().newPage();
      await page.setExtraHTTPHeaders({
        "x-oh-user": victim().user.sub,
        "x-oh-user-slug": victim().user.slug,
        "x-oh-email": `${victim().user.login}@example.test`,
      });
      await page.goto(`${stack.appOrigin}/`);
      expect(await waitForApp(page)).toBe(`oh-sbx-${attacker().user.slug}-`);
      await page.close();
    });

    test("WHEN they tamper with their session cookie THEN the app host no longer lets them in", async () => {
      const context = attacker().browser.page.context();
      const session = (await context.cookies(stack.appOrigin)).find((cookie) => cookie.name === "__Host-oh-session");
      expect(session).toBeDefined();
      // Change the second-to-last character (all six of its bits are signature bits) to a different one.
      const value = session!.value;
      const flipped = value.slice(0, -2) + (value.at(-2) === "A" ? "B" : "A") + value.slice(-1);
      expect(flipped).not.toBe(value);
      const reply = await edge.send(`${stack.appOrigin}/api/v1/settings`, {
        headers: { cookie: `__Host-oh-session=${flipped}`, accept: "application/json" },
      });
      expect(reply.status).toBe(401);
      const genuine = await edge.send(`${stack.appOrigin}/api/v1/settings`, {
        headers: { cookie: `__Host-oh-session=${session!.value}`, accept: "application/json" },
      });
      expect(genuine.status).toBe(200);
    });
  });

  // Issue 13 items 1 and 2 against the whole system: bob plays the attacker (eve). His sandbox serves a page on one of
  // its worker ports, i.e. on his runtime host, same-site with the app and with alice's runtime hosts. He sends alice
  // a link to it that carries his own sandbox's session key (the edge passes key requests on, the proxy checks the
  // key against his sandbox), so it opens in alice's browser without any ticket of hers.
  describe("GIVEN bob (the attacker) serves a page from his sandbox's worker port and alice opens his link", () => {
    const APEX = RUNTIME_DOMAIN.split(".").slice(1).join(".");
    let hostileUrl = "";
    let attacker: { refresh: string; session: string };
    const accessLog = () => readFileSync(join(stack.logDir, "nginx-access.log"), "utf8");
    // The harness keeps the newest 500 decisions; the attack paths are unique to these tests, so no index is needed.
    const attackDecisions = (host: string) =>
      stack.edge.decisions.filter((decision) => decision.host === host && decision.url.startsWith("/e2e-attack/"));

    beforeAll(async () => {
      const bob = sessions.bob;
      const cookies = await bob.browser.context.cookies(`${stack.appOrigin}/_auth/refresh`);
      // The attacker's own refresh token, whatever the edge calls its cookie (`__Host-oh-refresh`; `__Secure-oh-refresh` before).
      attacker = {
        refresh: cookies.find((c) => c.name.endsWith("-oh-refresh"))?.value ?? "",
        session: cookies.find((c) => c.name === "__Host-oh-session")?.value ?? "",
      };
      await startHostileWorker({
        sandbox: bob.sandbox!.sandboxId,
        containerPort: 8012,
        apex: APEX,
        refreshToken: attacker.refresh,
        sessionCookie: attacker.session,
      });
      hostileUrl = new URL(bob.sandbox!.urls.WORKER_2!).origin;
    });

    test(
      "WHEN the page plants bob's refresh token and session on the apex (the __Host- names too) and alice then refreshes THEN she " +
        "stays signed in as herself, never as bob, and the planted copies are expired",
      async () => {
        expect(attacker.refresh.length).toBeGreaterThan(20);
        const alice = sessions.alice;
        const context = alice.browser.context;
        const page = await context.newPage();
        const key = `session_api_key=${encodeURIComponent(sessions.bob.sandbox!.sessionKey)}`;
        await page.goto(`${hostileUrl}/plant?${key}`);
        await page.waitForFunction(() => document.querySelector("#status")?.textContent === "planted", undefined, { timeout: 10_000 });
        // The tossed cookies are real: the browser now sends a __Secure- refresh cookie of bob's to the app host's refresh
        // path (it refuses a __Host- name with Domain). The edge already expires whatever of ours it sees on any later
        // request under the apex (the page's own favicon request, say), but the copy scoped to /_auth/refresh is sent
        // only there, so it waits for her next refresh: the stealthy variant.
        const tossed = async () =>
          (await context.cookies(`${stack.appOrigin}/_auth/refresh`))
            .filter((c) => c.domain === `.${APEX}`)
            .map((c) => `${c.name} ${c.path}`);
        for (let i = 0; i < 50 && !(await tossed()).includes("__Secure-oh-refresh /_auth/refresh"); i += 1)
          await new Promise((resolve) => setTimeout(resolve, 100));
        expect(await tossed()).toContain("__Secure-oh-refresh /_auth/refresh");
        expect((await tossed()).filter((cookie) => cookie.startsWith("__Host-"))).toEqual([]);

        // The "immediate" variant: the page sends her to the logout first; a cross-site logout is refused, nothing is cleared.
        expect(stack.edge.decisions.filter((d) => d.host === APP_HOST && d.url === "/_auth/logout")).toEqual([]);
        const planted = page.url();
        await Promise.all([
          page.waitForURL((url) => url.href !== planted),
          page.evaluate((url) => void (location.href = url), `${stack.appOrigin}/_auth/logout`),
        ]);
        await page.waitForLoadState();
        const logout = stack.edge.decisions.filter((d) => d.host === APP_HOST && d.url === "/_auth/logout");
        expect((await context.cookies(stack.appOrigin)).map((c) => c.name)).toContain("__Host-oh-session");
        expect(logout.map((d) => d.outcome)).toEqual([403]);
        expect(page.url()).toBe(`${stack.appOrigin}/_auth/logout`);

        // Her next refresh, by navigation and in the background as the SPA does it: she is still alice, in her own OpenHands.
        await page.goto(`${stack.appOrigin}/_auth/refresh?return=%2F`);
        expect(await waitForApp(page)).toBe(`oh-sbx-${alice.user.slug}-`);
        const background = await page.evaluate(async () => {
          const refreshed = await fetch("/_auth/refresh", { method: "POST" });
          const list = await fetch("/api/v1/app-conversations/search");
          return {
            status: refreshed.status,
            conversations: list.status === 200 ? JSON.stringify(await list.json()) : `status ${list.status}`,
          };
        });
        expect(background.status).toBe(200);
        // Her own OpenHands answered (her conversation is there), not bob's.
        expect(background.conversations).toContain(alice.sandbox!.sandboxId);
        expect(background.conversations).not.toContain(sessions.bob.sandbox!.sandboxId);
        expect(await waitForApp(page)).not.toBe(`oh-sbx-${sessions.bob.user.slug}-`);
        // The session cookie her browser holds now (the ID token itself) names her.
        const held = (await context.cookies(stack.appOrigin)).filter((c) => c.name === "__Host-oh-session");
        expect(held).toHaveLength(1);
        expect(JSON.parse(Buffer.from(held[0]!.value.split(".")[1]!, "base64url").toString("utf8")).sub).toBe(alice.user.sub);
        // The tossed copies were expired on the way.
        expect((await context.cookies(`${stack.appOrigin}/_auth/refresh`)).filter((c) => c.domain === `.${APEX}`)).toEqual([]);
        await page.close();
      },
    );

    test(
      "WHEN the page POSTs to and opens WebSockets to alice's runtime hosts and the app host THEN each is refused (403/401) and " +
        "nothing reaches her sandbox or app",
      async () => {
        const alice = sessions.alice;
        const targets = [new URL(alice.sandbox!.urls.WORKER_1!).origin, new URL(alice.sandbox!.conversationUrl).origin, stack.appOrigin];
        // She holds a runtime cookie for her worker host (SameSite=Lax: a same-site page's requests carry it).
        expect((await alice.browser.context.cookies(targets[0]!)).find((c) => c.name === "__Host-oh-runtime")).toMatchObject({
          sameSite: "Lax",
        });
        const logBefore = accessLog().length;
        const callsBefore = stack.engine.counter.calls.length;
        const page = await alice.browser.context.newPage();
        await page.goto(
          `${hostileUrl}/attack?session_api_key=${encodeURIComponent(sessions.bob.sandbox!.sessionKey)}&` +
            `targets=${encodeURIComponent(JSON.stringify(targets))}`,
        );
        await page.waitForFunction(() => (document.querySelector("#status")?.textContent ?? "").startsWith("["), undefined, {
          timeout: 30_000,
        });
        const seen = JSON.parse((await page.textContent("#status")) ?? "[]") as Array<{ target: string; socket: string }>;
        await page.close();
        expect(seen.map((attempt) => attempt.socket)).toEqual(["error", "error", "error"]);
        for (const target of targets) {
          const decisions = attackDecisions(new URL(target).host);
          // One POST and one WebSocket handshake per target, each answered by the edge itself: 403 (the worker host, where
          // her runtime cookie went along, and the app host) or 401 (the agent-server host, where she has no credential).
          expect(decisions.map((d) => [d.method, d.websocket])).toEqual([
            ["POST", false],
            ["GET", true],
          ]);
          for (const decision of decisions) expect([401, 403]).toContain(decision.outcome);
        }
        expect(attackDecisions(new URL(targets[0]!).host).map((d) => d.outcome)).toEqual([403, 403]);
        expect(attackDecisions(APP_HOST).map((d) => d.outcome)).toEqual([403, 403]);
        // Nothing reached the proxy, so nothing reached her sandbox or app; and nothing was created for her.
        expect(accessLog().slice(logBefore)).not.toContain("/e2e-attack/");
        expect(stack.engine.counter.calls.slice(callsBefore).filter((call) => call.method === "POST")).toEqual([]);
        // The proxy repeats the check: exactly what the edge would add for her (a signed identity) with the hostile Origin.
        const worker = new URL(alice.sandbox!.urls.WORKER_1!).host;
        const atProxy = await openSocket(`ws://127.0.0.1:${stack.proxyPort}`, `wss://${worker}/e2e-attack/socket`, {
          ...signedIdentity(stack, alice.user, worker),
          origin: hostileUrl,
        });
        expect(atProxy).toMatchObject({ outcome: "refused", status: 403 });
        const postAtProxy = await proxyPost(stack, worker, "/e2e-attack/post", {
          ...signedIdentity(stack, alice.user, worker),
          origin: hostileUrl,
        });
        expect(postAtProxy).toBe(403);
        expect(
          accessLog()
            .slice(logBefore)
            .split("\n")
            .filter((line) => line.includes("/e2e-attack/") && !/ up=-?$/.test(line.trim())),
        ).toEqual([]);
      },
    );
  });

  let beforeLogout: { app: string; runtime: string } | undefined;

  test("GIVEN alice is signed in WHEN she logs out THEN her browser is back at the login and the app host refuses it", async () => {
    const alice = sessions.alice;
    const context = alice.browser.page.context();
    const cookieHeader = (cookies: Array<{ name: string; value: string }>) =>
      cookies.map((cookie) => `${cookie.name}=${cookie.value}`).join("; ");
    beforeLogout = {
      app: cookieHeader(await context.cookies(stack.appOrigin)),
      runtime: cookieHeader(await context.cookies(new URL(alice.sandbox!.urls.WORKER_1!).origin)),
    };
    expect(beforeLogout.runtime).toContain("__Host-oh-runtime=");
    await alice.browser.page.goto(`${stack.appOrigin}/_auth/logout`);
    await alice.browser.page.waitForSelector('input[name="login"]', { timeout: 15_000 });
    await alice.browser.screenshot("logged-out");
    expect((await context.cookies(stack.appOrigin)).some((cookie) => cookie.name === "__Host-oh-session")).toBe(false);

    await alice.browser.page.goto(`${stack.appOrigin}/`);
    await alice.browser.page.waitForSelector('input[name="login"]', { timeout: 15_000 });
    expect(new URL(alice.browser.page.url()).origin).toBe(stack.oidcIssuer);
    const api = await alice.browser.page.evaluate(
      async (origin) => (await fetch(`${origin}/api/v1/settings`, { credentials: "include" }).catch(() => undefined))?.status ?? 0,
      stack.appOrigin,
    );
    expect(api).not.toBe(200);
  });

  // KNOWN GAP, owned by edge-auth: the session cookie is stateless (it carries the ID token), so logout clears it in the
  // browser but a copy taken before logout stays valid until the token expires (config.cognito.tokenMinutes).
  // This test states the requirement and is expected to fail until the edge can revoke a session.
  test.failing(
    "GIVEN alice has logged out WHEN someone replays the session " + "cookie she held before THEN the app host refuses it",
    async () => {
      const replay = await edge.send(`${stack.appOrigin}/api/v1/settings`, {
        headers: { cookie: beforeLogout!.app, accept: "application/json" },
      });
      expect(replay.status).toBe(401);
    },
  );

  test("GIVEN alice has logged out WHEN her browser opens her worker port THEN the runtime host no longer lets her in", async () => {
    const alice = sessions.alice;
    const context = alice.browser.page.context();
    // Logout passed her browser through the runtime host, which cleared its own cookie.
    expect(
      (await context.cookies(new URL(alice.sandbox!.urls.WORKER_1!).origin)).some((cookie) => cookie.name === "__Host-oh-runtime"),
    ).toBe(false);
    const worker = await context.newPage();
    await worker.goto(alice.sandbox!.urls.WORKER_1!);
    const content = await worker.content();
    await worker.screenshot({ path: join(ARTIFACTS, "worker-after-logout-alice.png") });
    await worker.close();
    expect(content).not.toContain(alice.sandbox!.hostname);
  });

  // KNOWN GAP, owned by edge-auth: like the session cookie, the runtime cookie is a sealed, stateless credential (valid
  // 8 hours, bound to its host and user). Logout clears it in the browser, but a copy taken before logout stays valid.
  // This test states the requirement and is expected to fail until the edge can revoke sessions.
  test.failing(
    "GIVEN alice has logged out WHEN someone replays the runtime cookie " + "she held before THEN the runtime host refuses it",
    async () => {
      const runtime = await edge.send(sessions.alice.sandbox!.urls.WORKER_1!, {
        headers: { cookie: beforeLogout!.runtime, accept: "application/json" },
      });
      expect(runtime.status).toBeGreaterThanOrEqual(400);
    },
  );

  describe("GIVEN the spawner restarts with an idle limit of 15 s", () => {
    // What the window after the restart showed: when alice (logged out, so idle) was culled, and whether bob, who
    // keeps his OpenHands open (the page polls every 2 s, as the real SPA does), was ever stopped.
    const observed = { aliceCulledAfterMs: -1, bobStopped: false, cullsBefore: 0 };
    const appName = (session: Session) => `oh-app-${session.user.slug}`;
    const culls = async () => (await (await fetch(`${stack.spawnerUrl}/v1/stats`)).json()) as { culls: number; runningUsers: number };

    test("WHEN it comes back THEN it has rebuilt its view from Docker: both apps run and bob's sandbox still answers", async () => {
      await stack.restartSpawner(CULL_IDLE_MINUTES);
      const restartedAt = Date.now();
      const stats = await culls();
      expect(stats.runningUsers).toBe(2);
      observed.cullsBefore = stats.culls;
      const bob = sessions.bob;
      const agent = await edge.send(bob.sandbox!.conversationUrl, { headers: { "x-session-api-key": bob.sandbox!.sessionKey } });
      expect(agent.status).toBe(200);
      // Watch both apps for twice the idle limit.
      const until = restartedAt + 2 * CULL_IDLE_MINUTES * 60_000 + 2_000;
      while (Date.now() < until || observed.aliceCulledAfterMs < 0) {
        if (observed.aliceCulledAfterMs < 0 && (await stack.engine.container(appName(sessions.alice)))?.running === false)
          observed.aliceCulledAfterMs = Date.now() - restartedAt;
        if ((await stack.engine.container(appName(bob)))?.running === false) observed.bobStopped = true;
        if (Date.now() > until + 30_000) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }, 120_000);

    test("WHEN alice (logged out) stays idle past the limit THEN the spawner culls her OpenHands and her sandbox", async () => {
      const alice = sessions.alice;
      expect(observed.aliceCulledAfterMs).toBeGreaterThan(0);
      expect(observed.aliceCulledAfterMs).toBeLessThan(CULL_IDLE_MINUTES * 60_000 + 10_000);
      expect((await stack.engine.container(alice.sandbox!.sandboxId))?.running).toBe(false);
      expect((await culls()).culls).toBeGreaterThan(observed.cullsBefore);
      // Her worker host has nothing behind it any more.
      const gone = await edge.send(alice.sandbox!.urls.WORKER_1!, { headers: { accept: "application/json" } });
      expect(gone.status).toBeGreaterThanOrEqual(400);
    });

    // Activity reports from the proxy keep him alive.
    test("WHEN bob keeps working in his OpenHands for twice the limit THEN he is never culled", async () => {
      expect(observed.bobStopped).toBe(false);
      expect((await stack.engine.container(appName(sessions.bob)))?.running).toBe(true);
    });

    test("WHEN alice comes back and logs in THEN her next request brings her OpenHands back", async () => {
      const alice = sessions.alice;
      const seen = alice.navigations.length;
      await logIn(alice);
      // The first answer after a cull: the proxy's starting page, or (with the app's address still cached by the
      // proxy) a "not answering" page that reloads itself; either way the browser ends in her own OpenHands.
      await alice.browser.page.waitForLoadState();
      await alice.browser.screenshot("first-page-after-cull");
      expect(await waitForApp(alice.browser.page)).toBe(`oh-sbx-${alice.user.slug}-`);
      await alice.browser.screenshot("back-again");
      const statuses = alice.navigations.slice(seen).map((nav) => nav.status);
      expect(statuses.some((status) => status === 503 || status === 502)).toBe(true);
      expect(statuses.at(-1)).toBe(200);
      expect((await stack.engine.container(appName(alice)))?.running).toBe(true);
    }, 60_000);
  });
});

describe("the pages a person meets outside OpenHands", () => {
  test(
    "GIVEN alice signed in WHEN her browser meets a refusal of the edge and of the proxy THEN each is in the shared look, in words " +
      "with the next step, allowed by the CSP, in light and dark",
    async () => {
      const tab = await sessions.alice.browser.context.newPage();
      const violations = watchCspViolations(tab);
      try {
        // The edge: a runtime ticket for bob's runtime host.
        const bobHost = `40000-${sessions.bob.user.slug}.${RUNTIME_DOMAIN}`;
        const refused = await tab.goto(`${stack.appOrigin}/_auth/runtime?host=${bobHost}&path=/`);
        expect(refused?.status()).toBe(403);
        await tab.waitForSelector("text=This workspace belongs to someone else");
        expect(await tab.getAttribute("a.button", "href")).toBe(`${stack.appOrigin}/`);
        const light = await pageColours(tab, "light");
        const dark = await pageColours(tab, "dark");
        expect(dark.background).not.toBe(light.background);
        expect(dark.text).not.toBe(light.text);
        await screenshotBothSchemes(tab, ARTIFACTS, "edge-not-yours");

        // The proxy: her own runtime host on a port where nothing runs (a culled or deleted sandbox).
        const gone = await tab.goto(runtimeUrlOf(40000, sessions.alice.user.slug, "/"));
        expect(gone?.status()).toBe(404);
        await tab.waitForSelector("text=This workspace is not running");
        expect(await tab.getAttribute("a.button", "href")).toBe(`${stack.appOrigin}/`);
        await screenshotBothSchemes(tab, ARTIFACTS, "proxy-sandbox-gone");
        // The stylesheet applied (its hash in the CSP matched): the page is not the browser's default white.
        expect((await pageColours(tab, "dark")).background).not.toBe("rgba(0, 0, 0, 0)");
        expect(violations).toEqual([]);
      } finally {
        await tab.close();
      }
    },
  );

  test(
    "GIVEN the proxy's starting, failed-start and full-host pages (its Lua page module, as nginx renders them) WHEN shown in " +
      "Chromium THEN they read in words, in light and dark",
    async () => {
      const tab = await sessions.alice.browser.context.newPage();
      const luaDir = proxyLuaDir();
      const pages: Array<[string, string, string]> = [
        [
          "proxy-starting",
          'pages.starting({ state = "starting", stage = "container", elapsedMs = 14000, typicalMs = 38000 }, "/", 2)',
          "Starting your OpenHands",
        ],
        [
          "proxy-start-failed",
          'pages.start_failed("database", "3f9a0c1d2e4b5a6978f0e1d2c3b4a596", "/conversations/1")',
          "Your OpenHands could not start",
        ],
        [
          "proxy-host-full",
          'pages.capacity({ reason = "apps", running = 19, starting = 1, max = 20 }, "/", 60)',
          "The server is full: 19 of 20",
        ],
        ["proxy-not-yours", 'pages.refusal("not_yours", "", "/")', "This workspace belongs to someone else"],
      ];
      try {
        for (const [name, call, words] of pages) {
          await tab.setContent(proxyPageHtml(luaDir, call));
          expect(await tab.textContent("main")).toContain(words);
          if (name === "proxy-start-failed") expect(await tab.textContent("#oh-request-id")).toBe("3f9a0c1d2e4b5a6978f0e1d2c3b4a596");
          await screenshotBothSchemes(tab, ARTIFACTS, name);
        }
      } finally {
        await tab.close();
      }
    },
  );
});
