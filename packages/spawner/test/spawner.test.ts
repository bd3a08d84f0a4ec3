/**
 * The spawner service end to end on a real Docker engine (docker-lab), with the stand-in images for the app
 * and the agent-server (test/helpers/lab-images.ts). A recording proxy between the spawner and dockerd says
 * which calls reached the engine. What only a fake engine can do (daemon faults, a registry, 254 networks) is
 * in fake-engine.test.ts.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { llmUserKey } from "@openhands-team/contracts";
import { describeWithEngine, docker } from "@openhands-team/docker-lab";
import { DockerPyClient } from "./helpers/docker-py";
import { eventually, fakeDatabases, http, user } from "./helpers/harness";
import { ensureLabImages } from "./helpers/lab-images";
import { execNode, inspect, startLabSpawner, type LabSpawner } from "./helpers/lab-spawner";

jest.setTimeout(60_000);

describeWithEngine("spawner service", () => {
  let images: { app: string; agentServer: string };
  let lab: LabSpawner | undefined;
  beforeAll(async () => {
    const built = await ensureLabImages();
    images = { app: built.app, agentServer: built.agentServer };
  });
  afterEach(async () => {
    await lab?.close();
    lab = undefined;
  });
  const start = async (overrides: Parameters<typeof startLabSpawner>[1] = {}) => (lab = await startLabSpawner(images, overrides));
  const ensure = (apiUrl: string, who: { sub: string; slug: string }) =>
    http({ url: `${apiUrl}/v1/users/${who.slug}/ensure`, method: "POST", body: { sub: who.sub, email: "a@example.com" } });
  /** What the app stored: it keeps settings.json under FILE_STORE_PATH, the user's EFS folder. */
  const storedSettings = (lab: LabSpawner, slug: string) =>
    JSON.parse(readFileSync(join(lab.config.paths.efsRoot, "users", slug, "openhands", "settings.json"), "utf8"));

  it(
    "GIVEN N parallel ensure calls for one user WHEN they run THEN one network, " +
      "one container created and started, and all answer running",
    async () => {
      const { service, callsMatching } = await start();
      const alice = user(1);
      const answers = await Promise.all(Array.from({ length: 8 }, () => ensure(service.apiUrl, alice)));
      expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
      expect(new Set(answers.map((a) => a.json().upstream))).toEqual(new Set(["http://10.241.1.2:3000"]));
      expect(callsMatching("POST", /^\/containers\/create$/)).toHaveLength(1);
      expect(callsMatching("POST", /^\/containers\/[0-9a-f]{64}\/start$/)).toHaveLength(1);
      expect(callsMatching("POST", /^\/networks\/create$/)).toHaveLength(1);
    },
  );

  it(
    "GIVEN a new user WHEN the app becomes healthy THEN LLM settings are seeded through POST /api/v1/settings with the gateway and " +
      "their own key; a user's own model is kept",
    async () => {
      const lab = await start();
      const alice = user(2);
      const aliceKey = llmUserKey(lab.config.secrets.llmGatewayKey, alice.slug);
      expect((await ensure(lab.service.apiUrl, alice)).status).toBe(200);
      expect(storedSettings(lab, alice.slug)).toMatchObject({
        agent_settings: { llm: { model: "litellm_proxy/claude-sonnet", base_url: "http://host.docker.internal:4000", api_key: aliceKey } },
      });
      // Master key theft: the app holds alice's key, not the gateway's master key.
      expect(JSON.stringify(storedSettings(lab, alice.slug))).not.toContain(lab.config.secrets.llmGatewayKey);
      // The user changes their model (the app stores it); after a cull and a new start it is still theirs.
      const own = { agent_settings_diff: { llm: { model: "my/own-model" } } };
      expect((await http({ url: "http://10.241.1.2:3000/api/v1/settings", method: "POST", body: own })).status).toBeLessThan(300);
      await lab.service.spawner.cull(alice.slug, "test");
      expect((await ensure(lab.service.apiUrl, alice)).status).toBe(200);
      expect(storedSettings(lab, alice.slug)).toMatchObject({ agent_settings: { llm: { model: "my/own-model", api_key: aliceKey } } });
    },
  );

  it(
    "GIVEN settings seeded by an earlier release with the master key WHEN the user starts again THEN only the key becomes theirs; " +
      "settings that name another provider are never touched",
    async () => {
      const lab = await start();
      const [bob, carol] = [user(3), user(5)];
      const master = lab.config.secrets.llmGatewayKey;
      const folder = (slug: string) => join(lab.config.paths.efsRoot, "users", slug, "openhands");
      const earlier = (baseUrl: string, apiKey: string) =>
        JSON.stringify({
          agent_settings: { llm: { model: "litellm_proxy/old-model", base_url: baseUrl, api_key: apiKey }, agent: "CodeActAgent" },
          user_consents_to_analytics: true,
          language: "de",
        });
      mkdirSync(folder(bob.slug), { recursive: true });
      writeFileSync(join(folder(bob.slug), "settings.json"), earlier("http://host.docker.internal:4000", master));
      mkdirSync(folder(carol.slug), { recursive: true });
      writeFileSync(join(folder(carol.slug), "settings.json"), earlier("https://api.example.com/v1", "sk-carols-own-provider-key"));
      expect((await ensure(lab.service.apiUrl, bob)).status).toBe(200);
      expect((await ensure(lab.service.apiUrl, carol)).status).toBe(200);
      expect(storedSettings(lab, bob.slug)).toEqual({
        agent_settings: {
          llm: {
            model: "litellm_proxy/old-model",
            base_url: "http://host.docker.internal:4000",
            api_key: llmUserKey(master, bob.slug),
          },
          agent: "CodeActAgent",
        },
        user_consents_to_analytics: true,
        language: "de",
      });
      expect(JSON.stringify(storedSettings(lab, bob.slug))).not.toContain(master);
      expect(storedSettings(lab, carol.slug).agent_settings.llm).toEqual({
        model: "litellm_proxy/old-model",
        base_url: "https://api.example.com/v1",
        api_key: "sk-carols-own-provider-key",
      });
    },
  );

  it("GIVEN the gateway's model name without a provider THEN it is seeded as litellm_proxy/<name>", async () => {
    const { seededModel } = await import("../src/service");
    expect(seededModel("eu.anthropic.claude-sonnet-4-5-20250929-v1:0")).toBe("litellm_proxy/eu.anthropic.claude-sonnet-4-5-20250929-v1:0");
    expect(seededModel("litellm_proxy/x")).toBe("litellm_proxy/x");
  });

  it("GIVEN a started app THEN the engine ran it with the environment of docs/architecture.md", async () => {
    const { service, config } = await start();
    const alice = user(4);
    await ensure(service.apiUrl, alice);
    const container = inspect(`oh-app-${alice.slug}`);
    const env = Object.fromEntries(
      (container.Config.Env as string[]).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]),
    );
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
      OH_SANDBOX_CONTAINER_URL_PATTERN: "http://10.241.1.1:{port}",
      OH_SANDBOX_HOST_PORT: String(config.network.relayPort),
      AGENT_SERVER_IMAGE_REPOSITORY: "localhost:1/openhands-standin/agent-server",
      AGENT_SERVER_IMAGE_TAG: "1.19.1-python",
      DOCKER_HOST: "unix:///run/ohdocker/docker.sock",
      OH_PERMITTED_CORS_ORIGINS_0: "https://openhands.example.com",
    });
    expect(env.JWT_SECRET).toMatch(/^[A-Za-z0-9_-]{43}$/);
    for (const unset of ["SESSION_API_KEY", "OH_WEB_URL", "WEB_HOST", "SANDBOX_VOLUMES", "RUNTIME"]) expect(env).not.toHaveProperty(unset);
    expect(existsSync(service.sandboxes.socketPathFor(alice.slug))).toBe(true);
  });

  it("GIVEN malformed slugs or a slug that is not the sub's WHEN ensure is called THEN 400 and nothing reaches the engine", async () => {
    const { service, callsMatching } = await start();
    const alice = user(5);
    for (const bad of [
      "ABCDEFGHIJKLMNOP",
      "abc",
      "abcdefghijklmnop1",
      "..%2f..%2fetc",
      "abcdefgh0jklmnop",
      "%00",
      "%E0%A4%A",
      "abcdefghijklmno%70",
    ]) {
      const res = await http({ url: `${service.apiUrl}/v1/users/${bad}/ensure`, method: "POST", body: { sub: alice.sub } });
      expect({ bad, status: res.status }).toEqual({ bad, status: 400 });
    }
    expect((await http({ url: `${service.apiUrl}/v1/users/a/b/ensure`, method: "POST", body: { sub: alice.sub } })).status).toBe(404);
    const mismatch = await http({ url: `${service.apiUrl}/v1/users/${user(6).slug}/ensure`, method: "POST", body: { sub: alice.sub } });
    expect(mismatch.status).toBe(400);
    expect((await http({ url: `${service.apiUrl}/v1/users/${alice.slug}/ensure`, method: "POST", body: "{not json" })).status).toBe(400);
    await expect(service.spawner.ensure("../../etc/passwd")).rejects.toThrow(/malformed user slug/);
    expect(callsMatching("POST", /^\/containers\/create$/)).toHaveLength(0);
    expect(callsMatching("POST", /^\/networks\/create$/)).toHaveLength(0);
  });

  it(
    "GIVEN the host runs maxRunningApps apps WHEN another user ensures THEN 503 capacity with a clear message, and the running users " +
      "still get 200",
    async () => {
      const { service } = await start({ users: { maxRunningApps: 2 } });
      expect((await ensure(service.apiUrl, user(7))).status).toBe(200);
      expect((await ensure(service.apiUrl, user(8))).status).toBe(200);
      const third = await ensure(service.apiUrl, user(9));
      expect(third.status).toBe(503);
      expect(third.json()).toMatchObject({ error: "capacity" });
      expect(third.json().message).toMatch(/users\.maxRunningApps = 2/);
      expect(docker(["ps", "-aq", "--filter", `name=^/oh-app-${user(9).slug}$`]).stdout.trim()).toBe("");
      expect((await ensure(service.apiUrl, user(7))).status).toBe(200);
      expect((await http({ url: `${service.apiUrl}/v1/stats` })).json()).toMatchObject({ runningUsers: 2, starts: 2, refusals: 1 });
    },
  );

  it(
    "GIVEN maxRunningSandboxes sandboxes run on the host WHEN another user's OpenHands creates one THEN the engine is not asked, the " +
      "app gets a clear 503 and no container is left in `created`",
    async () => {
      const { service, callsMatching } = await start({ users: { maxRunningSandboxes: 1 } });
      const [alice, bob] = [user(19), user(20)];
      for (const who of [alice, bob]) await ensure(service.apiUrl, who);
      const asAlice = new DockerPyClient(service.sandboxes.socketPathFor(alice.slug));
      const asBob = new DockerPyClient(service.sandboxes.socketPathFor(bob.slug));
      await asAlice.negotiate();
      await asBob.negotiate();
      expect((await asAlice.run(`oh-sbx-${alice.slug}-first`, DockerPyClient.sandboxBody(images.agentServer))).start?.status).toBe(204);
      const second = await asBob.run(`oh-sbx-${bob.slug}-second`, DockerPyClient.sandboxBody(images.agentServer));
      expect(second.create.status).toBe(503);
      expect(second.create.json().message).toMatch(/host capacity reached: 1 sandboxes .*users\.maxRunningSandboxes/);
      expect(callsMatching("POST", /^\/containers\/create$/).filter((c) => c.query.name === `oh-sbx-${bob.slug}-second`)).toHaveLength(0);
      // OpenHands shows a sandbox in `created` as STARTING forever: none is left behind.
      expect(docker(["container", "inspect", `oh-sbx-${bob.slug}-second`], { allowFailure: true }).status).not.toBe(0);
      expect((await http({ url: `${service.apiUrl}/v1/stats` })).json().sandboxRefusals).toBe(1);
    },
  );

  it("GIVEN an app slower than ensureWaitMs WHEN ensure is called THEN 202 starting, and later 200 running", async () => {
    const { service, callsMatching } = await start({
      timing: { ensureWaitMs: 0, healthTimeoutMs: 60_000, healthIntervalMs: 100, cullIntervalMs: 3_600_000 },
    });
    const alice = user(10);
    const first = await ensure(service.apiUrl, alice);
    expect(first.status).toBe(202);
    // The progress the starting page shows while it waits (src/start-progress.ts).
    expect(first.json()).toEqual({
      state: "starting",
      retryAfterMs: 2000,
      progress: expect.objectContaining({
        state: "starting",
        stage: expect.any(String),
        requestId: expect.stringMatching(/^[0-9a-f]{32}$/),
      }),
    });
    await eventually(async () => (await ensure(service.apiUrl, alice)).status === 200, 30_000);
    expect(callsMatching("POST", /^\/containers\/create$/)).toHaveLength(1);
  });

  it(
    "GIVEN running apps WHEN the spawner restarts with the database unreachable THEN it rebuilds its view from the engine: no new " +
      "container, relay and Docker socket back",
    async () => {
      const lab = await start();
      const alice = user(11);
      await ensure(lab.service.apiUrl, alice);
      const creates = lab.callsMatching("POST", /^\/containers\/create$/).length;
      const databases = fakeDatabases();
      databases.ensure = async () => {
        throw new Error("connect ECONNREFUSED (database paused)");
      };
      const service = await lab.restart(databases);
      const answer = await eventually(async () => {
        const res = await ensure(service.apiUrl, alice);
        return res.status === 200 ? res : undefined;
      }, 20_000);
      expect(answer.json().state).toBe("running");
      expect(lab.callsMatching("POST", /^\/containers\/create$/)).toHaveLength(creates);
      expect(service.relay.isOpen(alice.slug)).toBe(true);
      expect(existsSync(service.sandboxes.socketPathFor(alice.slug))).toBe(true);
    },
  );

  it(
    "GIVEN apps idle longer than idleMinutes WHEN the cull pass runs THEN the idle one is stopped with its sandboxes; activity " +
      "reports and relay traffic keep the others alive; coming back starts the same container",
    async () => {
      const { service, callsMatching } = await start();
      const [alice, bob, carol] = [user(13), user(14), user(15)];
      for (const who of [alice, bob, carol]) expect((await ensure(service.apiUrl, who)).status).toBe(200);
      const asAlice = new DockerPyClient(service.sandboxes.socketPathFor(alice.slug));
      await asAlice.negotiate();
      await asAlice.run(`oh-sbx-${alice.slug}-s1`, DockerPyClient.sandboxBody(images.agentServer));
      const asCarol = new DockerPyClient(service.sandboxes.socketPathFor(carol.slug));
      await asCarol.negotiate();
      await asCarol.run(`oh-sbx-${carol.slug}-s1`, DockerPyClient.sandboxBody(images.agentServer));
      const spawner = service.spawner as unknown as { activity: Map<string, number> };
      const longAgo = Date.now() - 61 * 60_000;
      for (const who of [alice, bob, carol]) spawner.activity.set(who.slug, longAgo);
      // bob: the proxy reports activity; carol: her sandbox calls a webhook through her relay.
      expect(
        (
          await http({
            url: `${service.apiUrl}/v1/activity`,
            method: "POST",
            body: [{ slug: bob.slug, at: Date.now() }, { slug: "bad", at: 1 }, null],
          })
        ).status,
      ).toBe(204);
      const hook = await execNode(
        `oh-sbx-${carol.slug}-s1`,
        `require("http").request({host:"host.docker.internal",port:3000,path:"/api/v1/webhooks/conversations",method:"POST",` +
          `timeout:10000},(r)=>{console.log(r.statusCode);process.exit(0)}).on("error",(e)=>{console.log("error ` +
          `"+e.code);process.exit(0)}).end("{}")`,
      );
      // Relayed: the app itself answers (401: no X-Session-API-Key), not the relay (403).
      expect(hook.stdout.trim()).toBe("401");
      expect(await service.spawner.cullIdle()).toEqual([alice.slug]);
      expect(inspect(`oh-app-${alice.slug}`).State.Status).toBe("exited");
      expect(inspect(`oh-sbx-${alice.slug}-s1`).State.Status).toBe("exited");
      expect(inspect(`oh-app-${bob.slug}`).State.Status).toBe("running");
      expect(inspect(`oh-app-${carol.slug}`).State.Status).toBe("running");
      expect(inspect(`oh-sbx-${carol.slug}-s1`).State.Status).toBe("running");
      expect(service.relay.isOpen(alice.slug)).toBe(false);
      expect(existsSync(service.sandboxes.socketPathFor(alice.slug))).toBe(false);
      expect((await http({ url: `${service.apiUrl}/v1/stats` })).json()).toMatchObject({ culls: 1, runningUsers: 2 });
      const appId = inspect(`oh-app-${alice.slug}`).Id;
      expect((await ensure(service.apiUrl, alice)).status).toBe(200);
      expect(inspect(`oh-app-${alice.slug}`)).toMatchObject({ Id: appId, State: { Status: "running" } });
      expect(callsMatching("POST", /^\/containers\/create$/)).toHaveLength(5);
    },
  );

  it("GIVEN an app that died while its sandboxes run WHEN the cull pass runs THEN the orphaned sandboxes are stopped", async () => {
    const { service } = await start();
    const alice = user(25);
    await ensure(service.apiUrl, alice);
    const asAlice = new DockerPyClient(service.sandboxes.socketPathFor(alice.slug));
    await asAlice.negotiate();
    await asAlice.run(`oh-sbx-${alice.slug}-orphan`, DockerPyClient.sandboxBody(images.agentServer));
    docker(["stop", "-t", "1", `oh-app-${alice.slug}`]);
    await eventually(() => service.apps.get(alice.slug)?.state === "stopped" || undefined, 10_000);
    await service.spawner.cullIdle();
    expect(inspect(`oh-sbx-${alice.slug}-orphan`).State.Status).toBe("exited");
  });

  it(
    "GIVEN sandboxes running WHEN the proxy resolves runtime hosts THEN owner, upstream, kind and session-key hash come from engine " +
      "events; malformed hosts are 404; no engine call per lookup",
    async () => {
      const { service, calls } = await start();
      const alice = user(16);
      await ensure(service.apiUrl, alice);
      const asAlice = new DockerPyClient(service.sandboxes.socketPathFor(alice.slug));
      await asAlice.negotiate();
      await asAlice.run(`oh-sbx-${alice.slug}-r1`, DockerPyClient.sandboxBody(images.agentServer));
      const sandbox = inspect(`oh-sbx-${alice.slug}-r1`);
      const ip = sandbox.NetworkSettings.Networks[`oh-u-${alice.slug}`].IPAddress;
      const port = (key: string) => sandbox.NetworkSettings.Ports[key][0].HostPort as string;
      expect(sandbox.NetworkSettings.Ports["8000/tcp"][0].HostIp).toBe("10.241.1.1");
      const resolve = (host: string) => http({ url: `${service.apiUrl}/v1/routes/resolve?host=${encodeURIComponent(host)}` });
      const agent = await eventually(async () => {
        const res = await resolve(`${port("8000/tcp")}-${alice.slug}.runtime.example.com`);
        return res.status === 200 ? res : undefined;
      });
      expect(agent.json()).toEqual({
        owner: alice.slug,
        upstream: `http://${ip}:8000`,
        kind: "agent-server",
        sessionKeySha256: createHash("sha256").update("session-key-of-this-sandbox").digest("hex"),
      });
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
      const before = calls.length;
      for (let i = 0; i < 20; i += 1) await resolve(`12345-${alice.slug}.runtime.example.com`);
      expect(calls.length).toBe(before);
      // The route disappears with the container (an engine event), without a request-time poll.
      await asAlice.call("POST", asAlice.v(`/containers/${sandbox.Id}/stop?t=1`));
      await eventually(async () => (await resolve(`${port("8000/tcp")}-${alice.slug}.runtime.example.com`)).status === 404 || undefined);
    },
  );

  it(
    "GIVEN the control API WHEN probed THEN /healthz is 200, unknown paths " + "404, wrong methods 405, and stats carry the counters",
    async () => {
      const { service } = await start();
      expect((await http({ url: `${service.apiUrl}/healthz` })).status).toBe(200);
      expect((await http({ url: `${service.apiUrl}/v1/nothing` })).status).toBe(404);
      expect((await http({ url: `${service.apiUrl}/v1/stats`, method: "DELETE" })).status).toBe(405);
      expect((await http({ url: `${service.apiUrl}/v1/activity`, method: "POST", body: { not: "an array" } })).status).toBe(400);
      expect(Object.keys((await http({ url: `${service.apiUrl}/v1/stats` })).json())).toEqual(
        expect.arrayContaining(["runningUsers", "starts", "culls", "refusals", "failures", "runningSandboxes"]),
      );
    },
  );

  it("GIVEN the logs of a start THEN they are JSON lines and carry no credential", async () => {
    const { service, logs } = await start();
    await ensure(service.apiUrl, user(18));
    expect(logs.length).toBeGreaterThan(3);
    for (const line of logs) {
      const record = JSON.parse(line);
      expect(record).toHaveProperty("level");
      expect(line).not.toMatch(/sk-llm-gateway-master-key|sk-oh-|jwt-secret|pw-[a-z2-7]{16}|db-key/);
    }
  });
});
