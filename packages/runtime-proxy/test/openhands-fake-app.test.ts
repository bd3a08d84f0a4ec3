/**
 * The app host through real nginx in front of the OpenHands app fake itself (not a fixture), per version: the
 * start task a conversation start answers, polled on /start-tasks with repeated ids, comes back with
 * agent_server_url rewritten to the user's runtime host; the fake's own error bodies pass unchanged.
 */
import { startOpenHandsApp, type RunningOpenHandsApp, type StartTask } from "@openhands-team/openhands-fakes";
import { FakeSpawner } from "./harness/fake-spawner";
import { identityHeaders, makeUser, newKey } from "./harness/identity";
import { freePort, send } from "./harness/net";
import { APP_HOST, type RunningProxy, RUNTIME_DOMAIN, startProxy } from "./harness/proxy";
import { appAddress, expose, type Exposed } from "./harness/subnet";

const ada = makeUser("3f0c1d2e-0000-4000-8000-00000000f1f1", "ada@example.com");
const key = newKey();
const GATEWAY = "10.240.31.1";

describe.each([
  ["1.7.0" as const, 31],
  ["1.11.0" as const, 32],
])("OpenHands %s app fake behind the proxy", (version, net) => {
  let spawner: FakeSpawner;
  let app: RunningOpenHandsApp;
  let exposed: Exposed;
  let proxy: RunningProxy;
  const get = (path: string) => send(proxy.port, APP_HOST, path, { headers: identityHeaders(key, APP_HOST, ada) });

  beforeAll(async () => {
    spawner = new FakeSpawner(await freePort());
    await spawner.start();
    app = await startOpenHandsApp({
      version,
      env: { OH_SANDBOX_KIND: "DockerSandboxServiceInjector", OH_SANDBOX_CONTAINER_URL_PATTERN: `http://${GATEWAY}:{port}` },
    });
    exposed = await expose(app.port, appAddress(net), 3000);
    spawner.ensure.set(ada.slug, () => ({ status: 200, body: { state: "running", upstream: exposed.url } }));
    proxy = await startProxy({ spawnerPort: spawner.port, key });
  });

  afterAll(async () => {
    await proxy?.stop();
    await Promise.all([spawner?.stop(), app?.close(), exposed?.close()]);
  });

  test(
    "GIVEN a READY start task on the sandbox's gateway port WHEN polled with repeated ids THEN agent_server_url is the public " +
      "runtime URL, unknown ids null",
    async () => {
      // The task as the app leaves it once the sandbox answered (agent_server_url = the URL pattern with the host port).
      const task: StartTask = {
        id: "a1b2c3d4a1b2c3d4a1b2c3d4a1b2c3d4",
        created_by_user_id: null,
        status: "READY",
        detail: null,
        app_conversation_id: "c0ffee00c0ffee00c0ffee00c0ffee01",
        sandbox_id: "oh-agent-server-x",
        agent_server_url: `http://${GATEWAY}:32771`,
        request: {},
        created_at: "2026-11-28T20:00:00Z",
        updated_at: "2026-11-28T20:00:02Z",
      };
      app.conversations.tasks.set(task.id, task);
      const reply = await get(`/api/v1/app-conversations/start-tasks?ids=${task.id}&ids=${"0".repeat(32)}`);
      expect(reply.status).toBe(200);
      expect(reply.json).toHaveLength(2);
      expect(reply.json[0].agent_server_url).toBe(`https://32771-${ada.slug}.${RUNTIME_DOMAIN}`);
      expect(reply.json[1]).toBeNull();
      expect(reply.body).not.toContain(GATEWAY);
    },
  );

  test("GIVEN a conversation start THEN the WORKING task passes through, and the poll finds it by id", async () => {
    const started = await send(proxy.port, APP_HOST, "/api/v1/app-conversations", {
      method: "POST",
      headers: { ...identityHeaders(key, APP_HOST, ada), "Content-Type": "application/json" },
      body: "{}",
    });
    expect(started.status).toBe(200);
    expect(started.json).toMatchObject({ status: "WORKING", agent_server_url: null });
    const polled = await get(`/api/v1/app-conversations/start-tasks?ids=${started.json.id}`);
    expect(polled.json[0].id).toBe(started.json.id);
  });

  test("GIVEN the fake's error answers THEN they pass unchanged: settings 404 with `error`, a comma list of ids 422", async () => {
    const settings = await get("/api/v1/settings");
    expect(settings.status).toBe(404);
    expect(settings.json).toEqual({ error: "Settings not found" });
    expect((await get(`/api/v1/app-conversations/start-tasks?ids=${"1".repeat(32)},${"2".repeat(32)}`)).status).toBe(422);
  });
});
