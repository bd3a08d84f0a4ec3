/**
 * The spawner service end to end, against the fake Docker engine and the contract fake of OpenHands
 * (no Docker engine and no OpenHands here; see testing/). User networks live on loopback (127.X.N.0/24)
 * so that the relay can bind the user's gateway address.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { eventually, http, startHarness, user, fakeDatabases, type Harness, AGENT_IMAGE } from "./helpers/harness";
import { DockerPyClient } from "./helpers/docker-py";

jest.setTimeout(30_000);

describe("spawner service", () => {
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  const ensure = (apiUrl: string, who: { sub: string; slug: string }) =>
    http({ url: `${apiUrl}/v1/users/${who.slug}/ensure`, method: "POST", body: { sub: who.sub, email: "a@example.com" } });

  it("GIVEN N parallel ensure calls for one user WHEN they run THEN one container is created and started, and all answer running", async () => {
    h = await startHarness();
    const service = await h.startService();
    const alice = user(1);
    const answers = await Promise.all(Array.from({ length: 8 }, () => ensure(service.apiUrl, alice)));
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
    const upstreams = new Set(answers.map((a) => a.json().upstream));
    expect(upstreams.size).toBe(1);
    expect([...upstreams][0]).toMatch(/^http:\/\/127\.\d+\.1\.2:\d+$/);
    expect(h.engine.callsMatching("POST", /^\/containers\/create$/)).toHaveLength(1);
    expect(h.engine.callsMatching("POST", /^\/containers\/[0-9a-f]{64}\/start$/)).toHaveLength(1);
    expect(h.engine.callsMatching("POST", /^\/networks\/create$/)).toHaveLength(1);
  });

  it("GIVEN a new user WHEN the app becomes healthy THEN LLM settings are seeded once through POST /api/v1/settings, with the gateway and key", async () => {
    h = await startHarness();
    const service = await h.startService();
    const alice = user(2);
    expect((await ensure(service.apiUrl, alice)).status).toBe(200);
    const app = h.apps.get(`oh-app-${alice.slug}`)!;
    const posts = app.requests.filter((r) => r.path === "/api/v1/settings" && r.method === "POST");
    expect(posts).toHaveLength(1);
    expect(JSON.parse(posts[0]!.body)).toEqual({
      agent_settings_diff: { llm: { model: "litellm_proxy/claude-sonnet", base_url: "http://host.docker.internal:4000", api_key: "llm-gateway-key" } },
      user_consents_to_analytics: false,
    });
    const health = app.requests.findIndex((r) => r.path === "/health");
    const get = app.requests.findIndex((r) => r.path === "/api/v1/settings" && r.method === "GET");
    expect(health).toBeGreaterThanOrEqual(0);
    expect(get).toBeGreaterThan(health);
  });

  it("GIVEN the gateway's model name without a provider THEN it is seeded as litellm_proxy/<name>", async () => {
    const { seededModel } = await import("../src/service");
    expect(seededModel("eu.anthropic.claude-sonnet-4-5-20250929-v1:0")).toBe("litellm_proxy/eu.anthropic.claude-sonnet-4-5-20250929-v1:0");
    expect(seededModel("litellm_proxy/x")).toBe("litellm_proxy/x");
  });

  it("GIVEN a user who changed their settings WHEN their app starts again THEN the settings are not overwritten", async () => {
    h = await startHarness({ appOptions: { settings: { agent_settings: { llm: { model: "my/own-model" } } } } });
    const service = await h.startService();
    const alice = user(3);
    expect((await ensure(service.apiUrl, alice)).status).toBe(200);
    const app = h.apps.get(`oh-app-${alice.slug}`)!;
    expect(app.requests.filter((r) => r.path === "/api/v1/settings" && r.method === "POST")).toHaveLength(0);
    expect(app.settings).toEqual({ agent_settings: { llm: { model: "my/own-model" } } });
  });

  it("GIVEN a started app THEN its container has the environment, mounts, limits, restart policy and fixed address of DESIGN.md", async () => {
    h = await startHarness();
    const service = await h.startService();
    const alice = user(4);
    await ensure(service.apiUrl, alice);
    const container = h.engine.find(`oh-app-${alice.slug}`)!;
    const env = Object.fromEntries(container.Config.Env.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
    const prefix = h.config.network.subnetPrefix;
    expect(env).toMatchObject({
      DB_HOST: "db.internal",
      DB_NAME: `oh_${alice.slug}`,
      DB_USER: `oh_${alice.slug}`,
      FILE_STORE: "local",
      FILE_STORE_PATH: "/.openhands",
      OH_PERSISTENCE_DIR: "/.openhands",
      OH_EVENT_KIND: "openhands.app_server.event.aws_event_service.AwsEventServiceInjector",
      OH_EVENT_BUCKET_NAME: "oh-events-test",
      OH_EVENT_PREFIX: `users/${alice.slug}`,
      OH_SANDBOX_KIND: "openhands.app_server.sandbox.docker_sandbox_service.DockerSandboxServiceInjector",
      OH_SANDBOX_CONTAINER_NAME_PREFIX: `oh-sbx-${alice.slug}-`,
      OH_SANDBOX_MAX_NUM_SANDBOXES: "3",
      OH_SANDBOX_CONTAINER_URL_PATTERN: `http://${prefix}.1.1:{port}`,
      OH_SANDBOX_HOST_PORT: String(h.config.network.relayPort),
      AGENT_SERVER_IMAGE_REPOSITORY: "ghcr.io/openhands/agent-server",
      AGENT_SERVER_IMAGE_TAG: "1.19.1-python",
      DOCKER_HOST: "unix:///run/ohdocker/docker.sock",
      OH_PERMITTED_CORS_ORIGINS_0: "https://openhands.example.com",
    });
    expect(env.JWT_SECRET).toMatch(/^[A-Za-z0-9_-]{43}$/);
    for (const unset of ["SESSION_API_KEY", "OH_WEB_URL", "WEB_HOST", "SANDBOX_VOLUMES", "RUNTIME"]) expect(env).not.toHaveProperty(unset);
    expect(container.HostConfig).toMatchObject({
      NetworkMode: `oh-u-${alice.slug}`,
      RestartPolicy: { Name: "unless-stopped" },
      Memory: 2048 * 1024 * 1024,
      NanoCpus: 1e9,
      Binds: [`${h.config.paths.efsRoot}/users/${alice.slug}/openhands:/.openhands:rw`, `${h.config.paths.dockerApiDir}/${alice.slug}:/run/ohdocker:ro`],
    });
    expect(container.NetworkSettings.Networks[`oh-u-${alice.slug}`]!.IPAddress).toBe(`${prefix}.1.2`);
    const network = [...h.engine.networks.values()].find((n) => n.Name === `oh-u-${alice.slug}`)!;
    expect(network.IPAM.Config[0]).toEqual({ Subnet: `${prefix}.1.0/24`, Gateway: `${prefix}.1.1`, IPRange: `${prefix}.1.128/25` });
    expect(network.Options).toEqual({ "com.docker.network.bridge.name": `ohu-${alice.slug.slice(0, 11)}`, "com.docker.network.bridge.enable_icc": "false" });
    expect(existsSync(join(h.config.paths.dockerApiDir, alice.slug, "docker.sock"))).toBe(true);
  });

  it("GIVEN malformed slugs or a slug that is not the sub's WHEN ensure is called THEN 400 and nothing is started", async () => {
    h = await startHarness();
    const service = await h.startService();
    const alice = user(5);
    for (const bad of ["ABCDEFGHIJKLMNOP", "abc", "abcdefghijklmnop1", "..%2f..%2fetc", "abcdefgh0jklmnop", "%00", "%E0%A4%A", "abcdefghijklmno%70"]) {
      const res = await http({ url: `${service.apiUrl}/v1/users/${bad}/ensure`, method: "POST", body: { sub: alice.sub } });
      expect({ bad, status: res.status }).toEqual({ bad, status: 400 });
    }
    expect((await http({ url: `${service.apiUrl}/v1/users/a/b/ensure`, method: "POST", body: { sub: alice.sub } })).status).toBe(404);
    const other = user(6);
    const mismatch = await http({ url: `${service.apiUrl}/v1/users/${other.slug}/ensure`, method: "POST", body: { sub: alice.sub } });
    expect(mismatch.status).toBe(400);
    const noBody = await http({ url: `${service.apiUrl}/v1/users/${alice.slug}/ensure`, method: "POST", body: "{not json" });
    expect(noBody.status).toBe(400);
    await expect(service.spawner.ensure("../../etc/passwd")).rejects.toThrow(/malformed user slug/);
    expect(h.engine.callsMatching("POST", /^\/containers\/create$/)).toHaveLength(0);
  });

  it("GIVEN the host runs maxRunningApps apps WHEN another user ensures THEN 503 capacity with a clear message, and the running users still get 200", async () => {
    h = await startHarness({ config: { users: { maxRunningApps: 2, idleMinutes: 60, maxRunningSandboxes: 30, sandboxesPerUser: 3 } } });
    const service = await h.startService();
    expect((await ensure(service.apiUrl, user(7))).status).toBe(200);
    expect((await ensure(service.apiUrl, user(8))).status).toBe(200);
    const third = await ensure(service.apiUrl, user(9));
    expect(third.status).toBe(503);
    expect(third.json()).toMatchObject({ error: "capacity" });
    expect(third.json().message).toMatch(/users\.maxRunningApps = 2/);
    expect((await ensure(service.apiUrl, user(7))).status).toBe(200);
    expect((await http({ url: `${service.apiUrl}/v1/stats` })).json()).toMatchObject({ runningUsers: 2, starts: 2, refusals: 1 });
  });

  it("GIVEN maxRunningSandboxes sandboxes run on the host WHEN another user's OpenHands starts one THEN the daemon is not asked and the app gets a clear 503", async () => {
    h = await startHarness({ config: { users: { maxRunningApps: 20, idleMinutes: 60, maxRunningSandboxes: 1, sandboxesPerUser: 3 } } });
    const service = await h.startService();
    const [alice, bob] = [user(19), user(20)];
    for (const who of [alice, bob]) await ensure(service.apiUrl, who);
    const asAlice = new DockerPyClient(service.sandboxes.socketPathFor(alice.slug));
    const asBob = new DockerPyClient(service.sandboxes.socketPathFor(bob.slug));
    await asAlice.negotiate();
    await asBob.negotiate();
    expect((await asAlice.run(`oh-sbx-${alice.slug}-first`, DockerPyClient.sandboxBody(AGENT_IMAGE))).start?.status).toBe(204);
    const second = await asBob.run(`oh-sbx-${bob.slug}-second`, DockerPyClient.sandboxBody(AGENT_IMAGE));
    expect(second.create.status).toBe(201);
    expect(second.start?.status).toBe(503);
    expect(second.start?.json().message).toMatch(/host capacity reached: 1 sandboxes .*users\.maxRunningSandboxes/);
    expect(h.engine.find(`oh-sbx-${bob.slug}-second`)!.State.Status).toBe("created");
    expect((await http({ url: `${service.apiUrl}/v1/stats` })).json().sandboxRefusals).toBe(1);
  });

  it("GIVEN the app image cannot be created WHEN ensure runs THEN a clear failure, counted, and no relay or socket left open", async () => {
    h = await startHarness({ engine: { onCreate: (name) => (name.startsWith("oh-app-") ? { status: 500, message: "no space left on device" } : undefined) } });
    const service = await h.startService();
    const alice = user(28);
    const res = await ensure(service.apiUrl, alice);
    expect(res.status).toBe(502);
    expect(res.json()).toEqual({ error: "start_failed", message: expect.stringMatching(/no space left on device/) });
    expect(service.relay.isOpen(alice.slug)).toBe(false);
    expect(existsSync(service.sandboxes.socketPathFor(alice.slug))).toBe(false);
    expect((await http({ url: `${service.apiUrl}/v1/stats` })).json()).toMatchObject({ failures: 1, runningUsers: 0 });
  });

  it("GIVEN an app slower than ensureWaitMs WHEN ensure is called THEN 202 starting, and later 200 running", async () => {
    h = await startHarness({ appOptions: { healthyAfterMs: 600 }, config: { timing: { ensureWaitMs: 100, healthTimeoutMs: 10_000, healthIntervalMs: 20, cullIntervalMs: 3_600_000 } } });
    const service = await h.startService();
    const alice = user(10);
    const first = await ensure(service.apiUrl, alice);
    expect(first.status).toBe(202);
    expect(first.json()).toEqual({ state: "starting", retryAfterMs: 2000 });
    await eventually(async () => (await ensure(service.apiUrl, alice)).status === 200);
    expect(h.engine.callsMatching("POST", /^\/containers\/create$/)).toHaveLength(1);
  });

  it("GIVEN running apps WHEN the spawner restarts THEN it rebuilds its view from Docker: no new container, relay and Docker socket back, routes resolvable", async () => {
    h = await startHarness();
    let service = await h.startService();
    const alice = user(11);
    await ensure(service.apiUrl, alice);
    const docker = new DockerPyClient(service.sandboxes.socketPathFor(alice.slug));
    await docker.negotiate();
    const run = await docker.run(`oh-sbx-${alice.slug}-abc`, DockerPyClient.sandboxBody(AGENT_IMAGE));
    expect(run.start?.status).toBe(204);
    await h.stopService();
    const creates = h.engine.callsMatching("POST", /^\/containers\/create$/).length;
    // The database is unreachable after the restart: running apps come back regardless.
    const databases = fakeDatabases();
    databases.ensure = async () => {
      throw new Error("connect ECONNREFUSED (database paused)");
    };
    service = await h.startService({ databases });
    const answer = await eventually(async () => {
      const res = await ensure(service.apiUrl, alice);
      return res.status === 200 ? res : undefined;
    });
    expect(answer.json().state).toBe("running");
    expect(h.engine.callsMatching("POST", /^\/containers\/create$/)).toHaveLength(creates);
    expect(service.relay.isOpen(alice.slug)).toBe(true);
    expect(existsSync(service.sandboxes.socketPathFor(alice.slug))).toBe(true);
    const sandbox = h.engine.find(`oh-sbx-${alice.slug}-abc`)!;
    const hostPort = sandbox.NetworkSettings.Ports["8000/tcp"]![0]!.HostPort;
    const route = await http({ url: `${service.apiUrl}/v1/routes/resolve?host=${hostPort}-${alice.slug}.runtime.example.com` });
    expect(route.status).toBe(200);
    expect(route.json()).toMatchObject({ owner: alice.slug, kind: "agent-server" });
  });

  it("GIVEN a user's sandboxes were recorded WHEN the host is replaced (empty Docker, same EFS) THEN ensure recreates them, stopped (exited), with their original session key", async () => {
    h = await startHarness();
    let service = await h.startService();
    const alice = user(12);
    await ensure(service.apiUrl, alice);
    const docker = new DockerPyClient(service.sandboxes.socketPathFor(alice.slug));
    await docker.negotiate();
    await docker.run(`oh-sbx-${alice.slug}-one`, DockerPyClient.sandboxBody(AGENT_IMAGE));
    await docker.run(`oh-sbx-${alice.slug}-two`, DockerPyClient.sandboxBody(AGENT_IMAGE));
    expect(readdirSync(join(h.config.paths.efsRoot, "users", alice.slug, "sandboxes")).sort()).toEqual([`oh-sbx-${alice.slug}-one.json`, `oh-sbx-${alice.slug}-two.json`]);

    await h.replaceHost();
    expect(h.engine.containers.size).toBe(0);
    service = await h.startService();
    expect((await ensure(service.apiUrl, alice)).status).toBe(200);
    for (const id of ["one", "two"]) {
      const restored = h.engine.find(`oh-sbx-${alice.slug}-${id}`)!;
      expect(restored).toBeDefined();
      expect(restored.State.Status).toBe("exited");
      expect(restored.Config.Env).toContain("OH_SESSION_API_KEYS_0=session-key-of-this-sandbox");
      expect(restored.HostConfig.NetworkMode).toBe(`oh-u-${alice.slug}`);
      expect(restored.HostConfig.Binds).toEqual([`${h.config.paths.efsRoot}/users/${alice.slug}/workspace:/workspace:rw`]);
    }
  });

  it("GIVEN an app idle longer than idleMinutes WHEN the cull pass runs THEN its sandboxes and the app are stopped, relay and socket closed; activity reports and relay traffic keep it alive", async () => {
    h = await startHarness();
    const service = await h.startService();
    const [alice, bob, carol] = [user(13), user(14), user(15)];
    for (const who of [alice, bob, carol]) await ensure(service.apiUrl, who);
    const docker = new DockerPyClient(service.sandboxes.socketPathFor(alice.slug));
    await docker.negotiate();
    await docker.run(`oh-sbx-${alice.slug}-s1`, DockerPyClient.sandboxBody(AGENT_IMAGE));

    // Pretend an hour and a bit has passed: move the clock through recorded activity.
    const spawner = service.spawner as unknown as { activity: Map<string, number> };
    const longAgo = Date.now() - 61 * 60_000;
    for (const who of [alice, bob, carol]) spawner.activity.set(who.slug, longAgo);
    // bob: the proxy reports activity; carol: her sandbox calls a webhook through the relay.
    expect((await http({ url: `${service.apiUrl}/v1/activity`, method: "POST", body: [{ slug: bob.slug, at: Date.now() }, { slug: "bad", at: 1 }, null] })).status).toBe(204);
    const gateway = `${h.config.network.subnetPrefix}.3.1`;
    const hook = await http({ url: `http://${gateway}:${h.config.network.relayPort}/api/v1/webhooks/conversations`, method: "POST", body: {}, localAddress: gateway.replace(/\.1$/, ".130") });
    expect(hook.status).toBe(200);

    const culled = await service.spawner.cullIdle();
    expect(culled).toEqual([alice.slug]);
    expect(h.engine.find(`oh-app-${alice.slug}`)!.State.Status).toBe("exited");
    expect(h.engine.find(`oh-sbx-${alice.slug}-s1`)!.State.Status).toBe("exited");
    expect(h.engine.find(`oh-app-${bob.slug}`)!.State.Status).toBe("running");
    expect(h.engine.find(`oh-app-${carol.slug}`)!.State.Status).toBe("running");
    expect(service.relay.isOpen(alice.slug)).toBe(false);
    expect(existsSync(service.sandboxes.socketPathFor(alice.slug))).toBe(false);
    expect((await http({ url: `${service.apiUrl}/v1/stats` })).json()).toMatchObject({ culls: 1, runningUsers: 2 });

    // Coming back starts the same container again.
    expect((await ensure(service.apiUrl, alice)).status).toBe(200);
    expect(h.engine.find(`oh-app-${alice.slug}`)!.State.Status).toBe("running");
    expect(h.engine.callsMatching("POST", /^\/containers\/create$/)).toHaveLength(4);
  });

  it("GIVEN two users WHEN a sandbox calls back on its gateway THEN only its own user's app receives it", async () => {
    h = await startHarness();
    const service = await h.startService();
    const [alice, bob] = [user(26), user(27)];
    await ensure(service.apiUrl, alice);
    await ensure(service.apiUrl, bob);
    const prefix = h.config.network.subnetPrefix;
    const relay = (n: number) => `http://${prefix}.${n}.1:${h.config.network.relayPort}`;
    const sandboxOf = (n: number) => `${prefix}.${n}.130`;
    expect((await http({ url: `${relay(1)}/api/v1/webhooks/conversations`, method: "POST", body: { from: "alice-sandbox" }, localAddress: sandboxOf(1) })).status).toBe(200);
    expect((await http({ url: `${relay(2)}/mcp/mcp`, method: "POST", body: { from: "bob-sandbox" }, localAddress: sandboxOf(2) })).status).toBe(200);
    // Cross-user callbacks: bob's sandbox calling alice's gateway is refused by alice's relay itself.
    expect((await http({ url: `${relay(1)}/api/v1/webhooks/conversations`, method: "POST", body: { from: "bob-sandbox" }, localAddress: sandboxOf(2) })).status).toBe(403);
    const seen = (slug: string) => h.apps.get(`oh-app-${slug}`)!.requests.filter((r) => r.path.startsWith("/api/v1/webhooks") || r.path === "/mcp/mcp").map((r) => JSON.parse(r.body).from);
    expect(seen(alice.slug)).toEqual(["alice-sandbox"]);
    expect(seen(bob.slug)).toEqual(["bob-sandbox"]);
    expect((await http({ url: `${relay(1)}/api/v1/sandboxes/search`, localAddress: sandboxOf(1) })).status).toBe(403);
  });

  it("GIVEN an app that died while its sandboxes run WHEN the cull pass runs THEN the orphaned sandboxes are stopped", async () => {
    h = await startHarness();
    const service = await h.startService();
    const alice = user(25);
    await ensure(service.apiUrl, alice);
    const docker = new DockerPyClient(service.sandboxes.socketPathFor(alice.slug));
    await docker.negotiate();
    await docker.run(`oh-sbx-${alice.slug}-orphan`, DockerPyClient.sandboxBody(AGENT_IMAGE));
    const app = h.engine.find(`oh-app-${alice.slug}`)!;
    expect((await http({ socketPath: h.engine.socketPath, path: `/containers/${app.Id}/stop`, method: "POST" })).status).toBe(204);
    await eventually(() => service.apps.get(alice.slug)?.state === "stopped" || undefined);
    await service.spawner.cullIdle();
    expect(h.engine.find(`oh-sbx-${alice.slug}-orphan`)!.State.Status).toBe("exited");
  });

  it("GIVEN sandboxes running WHEN the proxy resolves runtime hosts THEN owner, upstream, kind and session-key hash come from Docker events; malformed hosts are 404", async () => {
    h = await startHarness();
    const service = await h.startService();
    const alice = user(16);
    await ensure(service.apiUrl, alice);
    const docker = new DockerPyClient(service.sandboxes.socketPathFor(alice.slug));
    await docker.negotiate();
    await docker.run(`oh-sbx-${alice.slug}-r1`, DockerPyClient.sandboxBody(AGENT_IMAGE));
    const sandbox = h.engine.find(`oh-sbx-${alice.slug}-r1`)!;
    const ip = sandbox.NetworkSettings.Networks[`oh-u-${alice.slug}`]!.IPAddress;
    const ports = Object.fromEntries(Object.entries(sandbox.NetworkSettings.Ports).map(([key, bindings]) => [key, bindings![0]!.HostPort]));
    const port = (key: string) => ports[key]!;
    expect(sandbox.NetworkSettings.Ports["8000/tcp"]![0]!.HostIp).toBe(`${h.config.network.subnetPrefix}.1.1`);
    const resolve = (host: string) => http({ url: `${service.apiUrl}/v1/routes/resolve?host=${encodeURIComponent(host)}` });
    const { createHash } = await import("node:crypto");
    const agent = await eventually(async () => {
      const res = await resolve(`${port("8000/tcp")}-${alice.slug}.runtime.example.com`);
      return res.status === 200 ? res : undefined;
    });
    expect(agent.json()).toEqual({ owner: alice.slug, upstream: `http://${ip}:8000`, kind: "agent-server", sessionKeySha256: createHash("sha256").update("session-key-of-this-sandbox").digest("hex") });
    expect((await resolve(`${port("8001/tcp")}-${alice.slug}.runtime.example.com`)).json().kind).toBe("vscode");
    expect((await resolve(`${port("8011/tcp")}-${alice.slug}.runtime.example.com`)).json().kind).toBe("worker");
    const bob = user(17);
    for (const bad of [
      `${port("8000/tcp")}-${bob.slug}.runtime.example.com`, // right port, another owner
      `0${port("8000/tcp")}-${alice.slug}.runtime.example.com`, // leading zero
      `${port("8000/tcp")}-${alice.slug}.runtime.example.com.evil.com`,
      `${port("8000/tcp")}-${alice.slug}.RUNTIME.example.com`,
      `${port("8000/tcp")}-${alice.slug}.runtime.example.com:443`,
      `99999-${alice.slug}.runtime.example.com`,
      `x.${port("8000/tcp")}-${alice.slug}.runtime.example.com`,
      "",
    ]) {
      expect((await resolve(bad)).status).toBe(404);
    }
    // The route disappears with the container (a Docker event), without a request-time poll.
    await docker.call("POST", docker.v(`/containers/${sandbox.Id}/stop?t=10`));
    await eventually(async () => (await resolve(`${port("8000/tcp")}-${alice.slug}.runtime.example.com`)).status === 404 || undefined);
    const inspectsBefore = h.engine.callsMatching("GET", /^\/containers\/.+\/json$/).length;
    for (let i = 0; i < 20; i += 1) await resolve(`12345-${alice.slug}.runtime.example.com`);
    expect(h.engine.callsMatching("GET", /^\/containers\/.+\/json$/).length).toBe(inspectsBefore);
  });

  it("GIVEN the Docker event stream breaks and events are missed WHEN it reconnects THEN the view resyncs from Docker", async () => {
    h = await startHarness();
    const service = await h.startService();
    const alice = user(21);
    await ensure(service.apiUrl, alice);
    const docker = new DockerPyClient(service.sandboxes.socketPathFor(alice.slug));
    await docker.negotiate();
    await docker.run(`oh-sbx-${alice.slug}-ev`, DockerPyClient.sandboxBody(AGENT_IMAGE));
    const sandbox = h.engine.find(`oh-sbx-${alice.slug}-ev`)!;
    const host = `${sandbox.NetworkSettings.Ports["8000/tcp"]![0]!.HostPort}-${alice.slug}.runtime.example.com`;
    await eventually(() => service.spawner.resolveHost(host));
    h.engine.dropEventStreams();
    h.engine.silently(({ containers }) => containers.delete(sandbox.Id));
    await eventually(() => !service.spawner.resolveHost(host) || undefined, 10_000);
    expect(h.logs.some((line) => line.includes("docker event stream ended; resyncing"))).toBe(true);
  });

  it("GIVEN every /24 of the prefix is taken WHEN a new user starts THEN a user with nothing running gives theirs up (restored later from records), not reused before subnetReuseDelayMs; with none idle, a clear failure", async () => {
    const delay = 1_500;
    h = await startHarness({ network: { subnetReuseDelayMs: delay } });
    const service = await h.startService();
    const prefix = h.config.network.subnetPrefix;
    const [alice, bob, carol] = [user(22), user(23), user(24)];
    await ensure(service.apiUrl, alice);
    const asAlice = new DockerPyClient(service.sandboxes.socketPathFor(alice.slug));
    await asAlice.negotiate();
    await asAlice.run(`oh-sbx-${alice.slug}-kept`, DockerPyClient.sandboxBody(AGENT_IMAGE));
    for (let n = 2; n <= 254; n += 1) {
      const res = await http({ socketPath: h.engine.socketPath, path: "/networks/create", method: "POST", body: { Name: `other-${n}`, IPAM: { Config: [{ Subnet: `${prefix}.${n}.0/24` }] } } });
      expect(res.status).toBe(201);
    }
    await service.view.sync();
    await service.spawner.cull(alice.slug, "test");
    const askedAt = Date.now();
    expect((await ensure(service.apiUrl, bob)).status).toBe(200);
    // Stale proxy routes: alice's /24 (and her app's .2) goes to bob only after the reuse delay.
    expect(Date.now() - askedAt).toBeGreaterThanOrEqual(delay);
    expect(h.logs.some((line) => line.includes("waiting for a recently freed /24"))).toBe(true);
    expect(h.engine.find(`oh-app-${alice.slug}`)).toBeUndefined();
    expect(h.engine.find(`oh-app-${bob.slug}`)!.NetworkSettings.Networks[`oh-u-${bob.slug}`]!.IPAddress).toBe(`${prefix}.1.2`);
    const full = await ensure(service.apiUrl, carol);
    expect(full.status).toBe(502);
    expect(full.json().message).toMatch(/no free \/24 left/);
    await service.spawner.cull(bob.slug, "test");
    expect((await ensure(service.apiUrl, alice)).status).toBe(200);
    expect(h.engine.find(`oh-sbx-${alice.slug}-kept`)!.State.Status).toBe("exited");
  });

  it("GIVEN the control API WHEN probed THEN /healthz is 200, unknown paths 404, wrong methods 405, and stats carry the counters", async () => {
    h = await startHarness();
    const service = await h.startService();
    expect((await http({ url: `${service.apiUrl}/healthz` })).status).toBe(200);
    expect((await http({ url: `${service.apiUrl}/v1/nothing` })).status).toBe(404);
    expect((await http({ url: `${service.apiUrl}/v1/stats`, method: "DELETE" })).status).toBe(405);
    expect((await http({ url: `${service.apiUrl}/v1/activity`, method: "POST", body: { not: "an array" } })).status).toBe(400);
    expect(Object.keys((await http({ url: `${service.apiUrl}/v1/stats` })).json())).toEqual(
      expect.arrayContaining(["runningUsers", "starts", "culls", "refusals", "failures", "runningSandboxes"]),
    );
  });

  it("GIVEN the logs of a start THEN they are JSON lines and carry no credential", async () => {
    h = await startHarness();
    const service = await h.startService({ databases: fakeDatabases() });
    await ensure(service.apiUrl, user(18));
    expect(h.logs.length).toBeGreaterThan(3);
    for (const line of h.logs) {
      const record = JSON.parse(line);
      expect(record).toHaveProperty("level");
      expect(line).not.toMatch(/llm-gateway-key|jwt-secret|pw-[a-z2-7]{16}|db-key/);
    }
  });
});
