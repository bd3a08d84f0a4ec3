/**
 * ECS mode through real nginx (docs/ecs.md, "Runtime URLs"): the internal listener (`internalListen`) where the users'
 * apps reach their sandboxes' agent-servers as http://<p>-<slug>.<sandboxDomain>, and the rewrite of those names in
 * the app's answers into public runtime hosts. ECS cannot run here: the task subnet 10.240.96.0/24 lives on the
 * tests' namespace loopback (test/in-netns.sh), the agent-server fakes are relayed to task addresses on 60000, the
 * fake spawner answers as the ECS spawner's resolve does, and an app task is a plain server on 10.240.96.20:3000.
 */
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import WebSocket from "ws";
import { FakeAgentServer } from "./harness/fake-openhands";
import { FakeSpawner, type Route } from "./harness/fake-spawner";
import { identityHeaders, makeUser, newKey } from "./harness/identity";
import { freePort, send, sleep } from "./harness/net";
import { APP_HOST, type RunningProxy, RUNTIME_DOMAIN, startProxy } from "./harness/proxy";
import { expose, type Exposed } from "./harness/subnet";

const ada = makeUser("internal-ada", "ada@example.com");
const bob = makeUser("internal-bob", "bob@example.com");
const key = newKey();
const ADA_KEY = "ada-session-key-internal-0123456789abcdef";
const BOB_KEY = "bob-session-key-internal-0123456789abcdef";
const sha = (s: string) => createHash("sha256").update(s).digest("hex");
const CONVERSATION = "c0ffee00c0ffee00c0ffee00c0ffee00";

const SANDBOXES = "sandboxes.example.internal";
const TASK_SUBNET = "10.240.96.0/24";
const task = (n: number) => `10.240.96.${n}`;
const INTERNAL_ADDRESS = "10.240.0.1";
const APP_TASK = task(20);

const internalName = (p: number, slug: string, service = "") => `${service}${p}-${slug}.${SANDBOXES}`;
const publicName = (p: number, slug: string) => `${p}-${slug}.${RUNTIME_DOMAIN}`;

let spawner: FakeSpawner;
let adaAgent: FakeAgentServer;
let bobAgent: FakeAgentServer;
/** Receives whatever a refused route would have reached: it must never see a request. */
let stray: FakeAgentServer;
let proxy: RunningProxy;
let internalPort = 0;
let app: Server;
let appBody = "";
const relays: Exposed[] = [];

function route(owner: string, upstream: string, kind: Route["kind"], sessionKey: string): Route {
  return { owner, upstream, kind, sessionKeySha256: sha(sessionKey) };
}

/** A request to the internal listener, as an app task sends it. */
const internal = (host: string, path: string, headers: Record<string, string> = {}, method = "GET") =>
  send(internalPort, host, path, { address: INTERNAL_ADDRESS, headers, method });
const contacts = () => adaAgent.requests.length + bobAgent.requests.length + stray.requests.length;

beforeAll(async () => {
  spawner = new FakeSpawner(await freePort());
  await spawner.start();
  adaAgent = new FakeAgentServer(ADA_KEY, "ada-agent");
  bobAgent = new FakeAgentServer(BOB_KEY, "bob-agent");
  stray = new FakeAgentServer(ADA_KEY, "stray");
  await Promise.all([adaAgent.start(), bobAgent.start(), stray.start()]);
  relays.push(
    await expose(adaAgent.port, task(30), 60000),
    await expose(adaAgent.port, task(30), 60001),
    await expose(bobAgent.port, task(31), 60000),
    await expose(stray.port, task(32), 12000),
    await expose(stray.port, "10.240.97.30", 60000),
  );
  // Ada's sandbox at route ports 40000-40003 (the agent-server and VS Code named), Bob's at 40000 under his slug.
  spawner.routes.set(publicName(40000, ada.slug), route(ada.slug, `http://${task(30)}:60000`, "agent-server", ADA_KEY));
  spawner.routes.set(publicName(40001, ada.slug), route(ada.slug, `http://${task(30)}:60001`, "vscode", ADA_KEY));
  spawner.routes.set(publicName(40000, bob.slug), route(bob.slug, `http://${task(31)}:60000`, "agent-server", BOB_KEY));
  // Bob's port put under Ada's slug: the spawner names Bob as its owner.
  spawner.routes.set(publicName(40004, ada.slug), route(bob.slug, `http://${task(31)}:60000`, "agent-server", BOB_KEY));
  // Routes a confused spawner could answer: outside the task subnets, and another service port of a task.
  spawner.routes.set(publicName(40008, ada.slug), route(ada.slug, "http://10.240.97.30:60000", "agent-server", ADA_KEY));
  spawner.routes.set(publicName(40012, ada.slug), route(ada.slug, `http://${task(32)}:12000`, "agent-server", ADA_KEY));
  // A worker route on the agent-server's port (the kind decides, not the port alone).
  spawner.routes.set(publicName(40016, ada.slug), route(ada.slug, `http://${task(30)}:60000`, "worker", ADA_KEY));

  // Ada's app task: answers the sandbox search with the remote sandbox service's URLs, in two writes cut inside a name.
  app = createServer((req, res) => {
    if (req.url?.startsWith("/api/v1/sandboxes/search")) {
      res.writeHead(200, { "Content-Type": "application/json" });
      const cut = appBody.indexOf(SANDBOXES) + 5;
      res.write(appBody.slice(0, cut));
      setTimeout(() => res.end(appBody.slice(cut)), 30);
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => app.listen(3000, APP_TASK, resolve));
  spawner.ensure.set(ada.slug, () => ({ status: 200, body: { state: "running", upstream: `http://${APP_TASK}:3000` } }));

  internalPort = await freePort();
  proxy = await startProxy({
    spawnerPort: spawner.port,
    key,
    settings: { taskSubnets: [TASK_SUBNET], sandboxDomain: SANDBOXES, internalListen: `${INTERNAL_ADDRESS}:${internalPort}` },
  });
});

afterAll(async () => {
  await proxy?.stop();
  await new Promise<void>((resolve) => (app ? app.close(() => resolve()) : resolve()));
  await Promise.all([spawner?.stop(), adaAgent?.stop(), bobAgent?.stop(), stray?.stop(), ...relays.map((r) => r.close())]);
});

describe("the app reaching its sandbox's agent-server", () => {
  it("GIVEN the sandbox's key in X-Session-API-Key THEN the agent-server answers, and sees the name it was called by", async () => {
    const name = internalName(40000, ada.slug);
    const reply = await internal(name, "/echo", { "X-Session-API-Key": ADA_KEY });
    expect(reply.status).toBe(200);
    expect(reply.json.name).toBe("ada-agent");
    expect(reply.json.headers.host).toBe(name);
    expect(reply.json.headers["x-session-api-key"]).toBe(ADA_KEY);
    const api = await internal(name, `/api/conversations?ids=${CONVERSATION}`, { "X-Session-API-Key": ADA_KEY });
    expect(api.status).toBe(200);
    expect(api.json[0].id).toBe(CONVERSATION);
  });

  it.each([
    "/alive",
    "/health",
  ])("GIVEN GET %s without a key (wait_for_sandbox_running's poll) THEN the agent-server answers", async (path) => {
    const before = adaAgent.requests.length;
    const reply = await internal(internalName(40000, ada.slug), path);
    expect(reply.status).toBe(200);
    expect(adaAgent.requests.length).toBe(before + 1);
  });

  it("GIVEN a WebSocket on /sockets with the key THEN events flow both ways", async () => {
    const ws = new WebSocket(`ws://${INTERNAL_ADDRESS}:${internalPort}/sockets/events/${CONVERSATION}?session_api_key=${ADA_KEY}`, {
      headers: { Host: internalName(40000, ada.slug) },
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

  it("GIVEN x-oh-* identity headers and cookies of ours from the caller THEN the agent-server sees none of them", async () => {
    const reply = await internal(internalName(40000, ada.slug), "/echo", {
      "X-Session-API-Key": ADA_KEY,
      ...identityHeaders(key, internalName(40000, ada.slug), bob),
      "X-OH-Role": "admin",
      "x-oh-users": "eve",
      Cookie: "__Host-oh-session=s; plain=1",
    });
    expect(reply.status).toBe(200);
    const seen = reply.json.headers as Record<string, string>;
    expect(Object.keys(seen).filter((h) => h.toLowerCase().startsWith("x-oh-"))).toEqual([]);
    expect(seen.cookie).toBe("plain=1");
  });
});

describe("a sandbox task that went away", () => {
  it("GIVEN nothing answering at the route THEN 502 and the spawner is asked again; once it forgets the route, 404", async () => {
    const name = internalName(40024, ada.slug);
    spawner.routes.set(publicName(40024, ada.slug), route(ada.slug, `http://${task(40)}:60000`, "agent-server", ADA_KEY));
    spawner.resetCounts();
    const down = await internal(name, "/api/conversations", { "X-Session-API-Key": ADA_KEY });
    expect(down.status).toBe(502);
    expect(down.json.error).toBe("upstream_unreachable");
    expect(spawner.counts.resolve).toBe(2);
    spawner.routes.delete(publicName(40024, ada.slug));
    const gone = await internal(name, "/api/conversations", { "X-Session-API-Key": ADA_KEY });
    expect(gone.status).toBe(404);
    expect(gone.json.error).toBe("sandbox_not_found");
  });
});

describe("attacks on the internal listener", () => {
  it.each([
    ["no key on an API path", "GET", "/api/conversations", {}],
    ["an empty key", "GET", "/api/conversations", { "X-Session-API-Key": "" }],
    ["a key-less POST to /alive", "POST", "/alive", {}],
    ["a path that only starts like /alive", "GET", "/alive/../api/conversations", {}],
    ["/alive with a query", "GET", "/alive?x=1", {}],
    ["a doubled slash before alive", "GET", "//alive", {}],
  ])("GIVEN %s THEN 401 before any lookup, and the sandbox is not contacted", async (_name, method, path, headers) => {
    spawner.resetCounts();
    const before = contacts();
    const reply = await internal(internalName(40000, ada.slug), path, headers as Record<string, string>, method);
    expect(reply.status).toBe(401);
    expect(spawner.counts.resolve).toBe(0);
    expect(contacts()).toBe(before);
  });

  it.each([
    ["a wrong key", internalName(40000, ada.slug), "wrong-key"],
    ["Bob's key on Ada's sandbox", internalName(40000, ada.slug), BOB_KEY],
    ["Ada's key on Bob's sandbox", internalName(40000, bob.slug), ADA_KEY],
    ["Bob's port under Ada's slug, with Bob's key", internalName(40004, ada.slug), BOB_KEY],
    ["Bob's port under Ada's slug, with Ada's key", internalName(40004, ada.slug), ADA_KEY],
    ["the VS Code port named as an agent-server (p+1)", internalName(40001, ada.slug), ADA_KEY],
    ["an upstream on another service port of a task (12000)", internalName(40012, ada.slug), ADA_KEY],
    ["a worker route on the agent-server's port", internalName(40016, ada.slug), ADA_KEY],
    ["a port nobody owns", internalName(40020, ada.slug), ADA_KEY],
  ])("GIVEN %s THEN 404 and no sandbox is contacted", async (_name, name, sessionKey) => {
    const before = contacts();
    const reply = await internal(name, "/api/conversations", { "X-Session-API-Key": sessionKey });
    expect(reply.status).toBe(404);
    expect(reply.json.error).toBe("sandbox_not_found");
    expect(contacts()).toBe(before);
  });

  it("GIVEN a spawner answer outside the task subnets THEN refused (SSRF), and nothing there is contacted", async () => {
    const before = contacts();
    const reply = await internal(internalName(40008, ada.slug), "/api/conversations", { "X-Session-API-Key": ADA_KEY });
    expect(reply.status).toBe(503);
    expect(contacts()).toBe(before);
    // The proxy's own lines are written from a timer (lua/oh/log.lua), every 0.2 s.
    for (let i = 0; i < 40 && !proxy.errorLog().includes("12000 or 12001"); i += 1) await sleep(50);
    expect(proxy.errorLog()).toContain("is not a task address on 60000, 60001, 12000 or 12001");
  });

  const slug = () => ada.slug;
  it.each([
    ["a vscode- name", () => internalName(40000, slug(), "vscode-")],
    ["a work-1- name", () => internalName(40000, slug(), "work-1-")],
    ["a work-2- name", () => internalName(40000, slug(), "work-2-")],
    ["the public runtime name", () => publicName(40000, slug())],
    ["the app host", () => APP_HOST],
    ["upper case", () => internalName(40000, slug()).toUpperCase()],
    ["an upper-case slug", () => internalName(40000, slug().toUpperCase())],
    ["a look-alike domain (<sandbox domain>.evil.com)", () => `${internalName(40000, slug())}.evil.com`],
    ["a domain that merely ends like ours", () => `40000-${slug()}.x${SANDBOXES}`],
    ["an extra label", () => `x.${internalName(40000, slug())}`],
    ["a leading zero", () => internalName(40000, slug()).replace("40000", "040000")],
    ["a first port whose four pass 65535", () => internalName(65533, slug())],
    ["the bare sandbox domain", () => SANDBOXES],
  ])("GIVEN %s THEN 404 before any lookup, and no sandbox is contacted", async (_name, name) => {
    spawner.resetCounts();
    const before = contacts();
    const reply = await internal(name(), "/api/conversations", { "X-Session-API-Key": ADA_KEY });
    expect(reply.status).toBe(404);
    expect(spawner.counts.resolve).toBe(0);
    expect(contacts()).toBe(before);
  });

  it("GIVEN a port in the Host header THEN refused (nginx's 400 or the proxy's 404) before any lookup", async () => {
    spawner.resetCounts();
    const before = contacts();
    const reply = await internal(`${internalName(40000, ada.slug)}:80`, "/api/conversations", { "X-Session-API-Key": ADA_KEY });
    expect([400, 404]).toContain(reply.status);
    expect(spawner.counts.resolve).toBe(0);
    expect(contacts()).toBe(before);
  });

  it("GIVEN an absolute-form target naming another host THEN 404: routing and the Host header cannot be split", async () => {
    spawner.resetCounts();
    const before = contacts();
    const reply = await internal(internalName(40000, ada.slug), `http://${internalName(40000, bob.slug)}/echo`, {
      "X-Session-API-Key": ADA_KEY,
    });
    expect(reply.status).toBe(404);
    expect(contacts()).toBe(before);
  });

  it("GIVEN an internal name on the public listener THEN 404 unknown_host: the sandbox names are served internally only", async () => {
    const before = contacts();
    const reply = await send(proxy.port, internalName(40000, ada.slug), "/echo", { headers: { "X-Session-API-Key": ADA_KEY } });
    expect(reply.status).toBe(404);
    expect(reply.json.error).toBe("unknown_host");
    expect(contacts()).toBe(before);
  });
});

describe("the app's answers reach the browser with public runtime hosts", () => {
  it("GIVEN sandbox names split across two writes THEN Ada's become https://<p+offset>-<slug>.<runtime domain>, Bob's stay", async () => {
    const own = (service: string) => `http://${internalName(40000, ada.slug, service)}`;
    appBody = JSON.stringify({
      items: [
        {
          id: "s1",
          session_api_key: "k1",
          exposed_urls: [
            { name: "AGENT_SERVER", url: own(""), port: 8000 },
            { name: "VSCODE", url: `${own("vscode-")}/?tkn=k1&folder=/workspace/project`, port: 8001 },
            { name: "WORKER_1", url: own("work-1-"), port: 8011 },
            { name: "WORKER_2", url: own("work-2-"), port: 8012 },
            { name: "OTHER", url: `http://${internalName(40000, bob.slug, "vscode-")}/?tkn=b`, port: 1 },
          ],
        },
      ],
      next_page_id: null,
    });
    const reply = await send(proxy.port, APP_HOST, "/api/v1/sandboxes/search", { headers: identityHeaders(key, APP_HOST, ada) });
    expect(reply.status).toBe(200);
    const urls = (reply.json.items[0].exposed_urls as Array<{ url: string }>).map((u) => u.url);
    expect(urls).toEqual([
      `https://${publicName(40000, ada.slug)}`,
      `https://${publicName(40001, ada.slug)}/?tkn=k1&folder=/workspace/project`,
      `https://${publicName(40002, ada.slug)}`,
      `https://${publicName(40003, ada.slug)}`,
      `http://${internalName(40000, bob.slug, "vscode-")}/?tkn=b`,
    ]);
  });
});
