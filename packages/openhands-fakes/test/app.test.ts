/**
 * The app fake's contract, per OpenHands version, against a scripted Docker API (the same flow runs on the real
 * engine in engine.test.ts). Each case names the upstream behaviour it holds the fake to.
 */
import { APP_VERSIONS, type AppVersion } from "../src/versions";
import { eventually, getJson, postJson, startWorld, waitForTask, type World } from "./support/world";

describe.each(APP_VERSIONS.map((version) => [version]))("OpenHands %s app fake", (version: AppVersion) => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld(version);
  });
  afterAll(async () => {
    await world?.close();
  });

  describe("starting a conversation", () => {
    let task: any;
    let ready: any;

    beforeAll(async () => {
      const started = await postJson(`${world.app.url}/api/v1/app-conversations`, { initial_message: null });
      expect(started.status).toBe(200);
      task = started.body;
      ready = await waitForTask(world.app.url, task.id);
    });

    test("GIVEN a POST THEN the answer is the start task in WORKING, without sandbox or URL yet (router L351-374)", () => {
      expect(task).toMatchObject({ status: "WORKING", app_conversation_id: null, sandbox_id: null, agent_server_url: null, detail: null });
      expect(task.id).toMatch(/^[0-9a-f]{32}$/);
    });

    test("GIVEN the start task is polled THEN it becomes READY in the background with agent_server_url on the sandbox's host port", () => {
      expect(ready.status).toBe("READY");
      expect(ready.sandbox_id).toMatch(/^oh-sbx-test-[0-9A-Za-z]+$/);
      const url = new URL(ready.agent_server_url);
      expect(url.hostname).toBe("127.0.0.1");
      expect(url.port).not.toBe("8000");
      expect(ready.app_conversation_id).toMatch(/^[0-9a-f]{32}$/);
    });

    test(
      "GIVEN the conversation THEN conversation_url is agent URL + " + "/api/conversations/<hex> and the session key is the sandbox's",
      async () => {
        const { status, body } = await getJson(`${world.app.url}/api/v1/app-conversations?ids=${ready.app_conversation_id}`);
        expect(status).toBe(200);
        expect(body[0].conversation_url).toBe(`${ready.agent_server_url}/api/conversations/${ready.app_conversation_id}`);
        const container = world.docker.find(ready.sandbox_id)!;
        expect(container.Config.Env).toContain(`OH_SESSION_API_KEYS_0=${body[0].session_api_key}`);
        expect(body[0].sandbox_status).toBe("RUNNING");
      },
    );

    test("GIVEN the sandbox THEN exposed_urls[].port is the container port while the URL carries the host port", async () => {
      const { body } = await getJson(`${world.app.url}/api/v1/sandboxes?id=${ready.sandbox_id}`);
      const urls = body[0].exposed_urls as Array<{ name: string; url: string; port: number }>;
      expect(urls.map((url) => [url.name, url.port])).toEqual([
        ["AGENT_SERVER", 8000],
        ["VSCODE", 8001],
        ["WORKER_1", 8011],
        ["WORKER_2", 8012],
      ]);
      const container = world.docker.find(ready.sandbox_id)!;
      for (const url of urls) {
        expect(new URL(url.url).port).toBe(container.NetworkSettings.Ports?.[`${url.port}/tcp`]?.[0]?.HostPort);
      }
      expect(urls[1]!.url).toContain(`/?tkn=${body[0].session_api_key}&folder=/workspace/project`);
    });

    test(
      "GIVEN the agent-server started THEN it called back through " +
        "host.docker.internal: conversation and event webhooks with its key, and MCP",
      async () => {
        await eventually(() => world.app.webhooks.includes("/api/v1/webhooks/conversations"));
        await eventually(() => world.app.webhooks.some((path) => path === `/api/v1/webhooks/events/${ready.app_conversation_id}`));
        expect(world.app.mcpCalls).toContain(ready.app_conversation_id);
        const webhookCall = world.app.requests.find((request) => request.url === "/api/v1/webhooks/conversations")!;
        const container = world.docker.find(ready.sandbox_id)!;
        expect(container.Config.Env).toContain(`OH_SESSION_API_KEYS_0=${webhookCall.headers["x-session-api-key"]}`);
      },
    );

    test(
      "GIVEN ids as a repeated parameter THEN one answer per id, null for " + "unknown; a comma list is refused (ids is list[UUID])",
      async () => {
        const unknown = "0".repeat(32);
        const both = await getJson(`${world.app.url}/api/v1/app-conversations/start-tasks?ids=${task.id}&ids=${unknown}`);
        expect(both.status).toBe(200);
        expect(both.body).toHaveLength(2);
        expect(both.body[0].id).toBe(task.id);
        expect(both.body[1]).toBeNull();
        expect((await getJson(`${world.app.url}/api/v1/app-conversations/start-tasks?ids=${task.id},${unknown}`)).status).toBe(422);
        expect((await getJson(`${world.app.url}/api/v1/app-conversations?ids=${ready.app_conversation_id},${unknown}`)).status).toBe(400);
        expect((await getJson(`${world.app.url}/api/v1/app-conversations/start-tasks`)).status).toBe(422);
      },
    );

    test(
      "GIVEN the create call THEN docker-py's body: name prefix, env, ports, " +
        "labels, extra_hosts, init, working_dir, NetworkMode default",
      () => {
        const create = world.docker.calls.find((call) => call.path.startsWith(`/v1.41/containers/create?name=${ready.sandbox_id}`))!;
        const body = create.body as any;
        expect(body.Image).toBe(world.image);
        expect(body.Cmd).toEqual(["--port", "8000"]);
        expect(body.WorkingDir).toBe("/workspace/project");
        expect(body.Labels).toEqual({ sandbox_spec_id: world.image });
        expect(body.ExposedPorts).toEqual({ "8000/tcp": {}, "8001/tcp": {}, "8011/tcp": {}, "8012/tcp": {} });
        expect(body.HostConfig).toMatchObject({ NetworkMode: "default", Init: true, ExtraHosts: ["host.docker.internal:127.0.0.1"] });
        expect(body.HostConfig.PortBindings["8000/tcp"]).toEqual([{ HostIp: "", HostPort: expect.stringMatching(/^\d+$/) }]);
        expect(body.Env).toEqual(
          expect.arrayContaining([
            `OH_WEBHOOKS_0_BASE_URL=http://host.docker.internal:${world.app.port}/api/v1/webhooks`,
            "OH_ALLOW_CORS_ORIGINS_0=https://openhands.example.test",
            "AGENT_SERVER=8000",
            "VSCODE=8001",
            "LOG_JSON=true",
          ]),
        );
        expect(body.HostConfig.Privileged).toBeUndefined();
      },
    );

    test(
      "GIVEN the Docker calls THEN /version comes first and unprefixed, the " + "list has no filters and every entry is inspected by Id",
      () => {
        expect(world.docker.calls[0]).toMatchObject({ method: "GET", path: "/version" });
        const lists = world.docker.calls.filter((call) => call.path.startsWith("/v1.41/containers/json"));
        expect(lists.length).toBeGreaterThan(0);
        for (const list of lists) expect(list.path).toBe("/v1.41/containers/json?limit=-1&all=1&size=0&trunc_cmd=0");
        expect(world.docker.calls.some((call) => call.path === `/v1.41/images/${world.image}/json`)).toBe(true);
      },
    );
  });

  describe("webhooks", () => {
    const event = [{ kind: "MessageEvent", id: "e1", source: "agent", timestamp: "2026-01-01T00:00:00Z" }];
    const conversation = "1".repeat(32);

    test("GIVEN no X-Session-API-Key THEN 401 and nothing is recorded (webhook_router L133-136)", async () => {
      const before = world.app.webhooks.length;
      const reply = await postJson(`${world.app.url}/api/v1/webhooks/events/${conversation}`, event);
      expect(reply.status).toBe(401);
      expect(world.app.webhooks.length).toBe(before);
    });

    test("GIVEN a key no sandbox of this app holds THEN 401 (L144-150)", async () => {
      const reply = await postJson(
        `${world.app.url}/api/v1/webhooks/conversations`,
        { id: conversation },
        { "x-session-api-key": "not-a-sandbox-key" },
      );
      expect(reply.status).toBe(401);
      expect(reply.body.detail).toBe("Invalid session API key");
    });

    test("GIVEN a forged X-Access-Token on /secrets THEN 401; no token at all, 401 too", async () => {
      const forged = "eyJhbGciOiJIUzI1NiJ9.eyJwcm92aWRlcl90eXBlIjoiZ2l0aHViIn0.c2lnbmF0dXJl";
      expect((await getJson(`${world.app.url}/api/v1/webhooks/secrets`, { headers: { "x-access-token": forged } })).status).toBe(401);
      expect((await getJson(`${world.app.url}/api/v1/webhooks/secrets`)).status).toBe(401);
    });
  });

  describe("MCP at /mcp/mcp (stateless streamable HTTP)", () => {
    test("GIVEN initialize THEN a JSON-RPC answer as one server-sent event", async () => {
      const response = await fetch(`${world.app.url}/mcp/mcp`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          "x-openhands-serverconversation-id": "abc",
        },
        body: JSON.stringify({ jsonrpc: "2.0", id: 7, method: "initialize", params: { protocolVersion: "2025-06-18" } }),
      });
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toContain("text/event-stream");
      const data = JSON.parse((await response.text()).split("data: ")[1]!);
      expect(data).toMatchObject({ jsonrpc: "2.0", id: 7, result: { serverInfo: { name: "mcp" } } });
    });

    test("GIVEN a client that does not accept event streams, or GET THEN refused (406, 405)", async () => {
      const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" });
      expect(
        (
          await fetch(`${world.app.url}/mcp/mcp`, {
            method: "POST",
            headers: { "content-type": "application/json", accept: "application/json" },
            body,
          })
        ).status,
      ).toBe(406);
      expect((await fetch(`${world.app.url}/mcp/mcp`)).status).toBe(405);
    });
  });

  describe("settings", () => {
    test("GIVEN nothing stored THEN GET is 404 with an `error` body (settings_router L114-118)", async () => {
      world.app.settings = undefined;
      const reply = await getJson(`${world.app.url}/api/v1/settings`);
      expect(reply.status).toBe(404);
      expect(reply.body).toEqual({ error: "Settings not found" });
    });

    test("GIVEN the legacy agent_settings key THEN 422 with `error` and the keys, and nothing is stored (L211-221)", async () => {
      const reply = await postJson(`${world.app.url}/api/v1/settings`, { agent_settings: { llm: { model: "x" } } });
      expect(reply.status).toBe(422);
      expect(reply.body).toEqual({ error: "Use *_diff nested settings payloads instead of legacy keys", keys: ["agent_settings"] });
      expect((await getJson(`${world.app.url}/api/v1/settings`)).status).toBe(404);
    });

    test("GIVEN two diffs THEN GET merges them and masks api_key, saying it is set", async () => {
      const first = await postJson(`${world.app.url}/api/v1/settings`, {
        agent_settings_diff: { llm: { model: "litellm_proxy/claude", base_url: "http://host.docker.internal:4000", api_key: "sk-user-1" } },
        user_consents_to_analytics: false,
      });
      expect(first).toEqual({ status: 200, body: { message: "Settings stored" } });
      await postJson(`${world.app.url}/api/v1/settings`, { agent_settings_diff: { llm: { model: "litellm_proxy/other" } } });
      const { status, body } = await getJson(`${world.app.url}/api/v1/settings`);
      expect(status).toBe(200);
      expect(body.agent_settings.llm).toEqual({
        model: "litellm_proxy/other",
        base_url: "http://host.docker.internal:4000",
        api_key: null,
      });
      expect(body.llm_api_key_set).toBe(true);
      expect(body.user_consents_to_analytics).toBe(false);
      expect(JSON.stringify(body)).not.toContain("sk-user-1");
    });

    test("GIVEN the stored key THEN the next conversation's agent gets the real key, not the mask", async () => {
      const started = await postJson(`${world.app.url}/api/v1/app-conversations`, {});
      const ready = await waitForTask(world.app.url, started.body.id);
      expect(ready.status).toBe("READY");
      const agent = [...world.agents.values()].find((server) =>
        server.requests.some(
          (request) =>
            request.url === "/api/conversations" && request.method === "POST" && request.body.includes(ready.app_conversation_id),
        ),
      )!;
      const request = JSON.parse(agent.requests.find((entry) => entry.method === "POST" && entry.url === "/api/conversations")!.body);
      expect(request.agent.llm).toMatchObject({ model: "litellm_proxy/other", api_key: "sk-user-1" });
    });
  });

  describe("sandbox status follows the container", () => {
    let sandboxId: string;
    const status = async (): Promise<string> => (await getJson(`${world.app.url}/api/v1/sandboxes?id=${sandboxId}`)).body[0]?.status;

    beforeAll(async () => {
      const started = await postJson(`${world.app.url}/api/v1/sandboxes`, {});
      expect(started.status).toBe(200);
      sandboxId = started.body.id;
      // docker-py's run returns the container as created, before start (DSS L489): STARTING.
      expect(started.body.status).toBe("STARTING");
    });

    test.each([
      ["created", "STARTING"],
      ["restarting", "STARTING"],
      ["paused", "PAUSED"],
      ["exited", "PAUSED"],
      ["removing", "MISSING"],
      ["dead", "ERROR"],
      ["something-new", "ERROR"],
    ])("GIVEN docker status %s THEN %s (DSS L114-126)", async (dockerStatus, expected) => {
      world.docker.setStatus(sandboxId, dockerStatus);
      expect(await status()).toBe(expected);
    });

    test("GIVEN running and healthy THEN RUNNING with URLs and key", async () => {
      world.docker.setStatus(sandboxId, "running");
      const { body } = await getJson(`${world.app.url}/api/v1/sandboxes?id=${sandboxId}`);
      expect(body[0]).toMatchObject({ status: "RUNNING", session_api_key: expect.any(String) });
      expect(body[0].exposed_urls).toHaveLength(4);
    });

    test(
      "GIVEN running with a silent agent-server THEN STARTING within the " + "grace period and ERROR after it, without URLs or key",
      async () => {
        const container = world.docker.find(sandboxId)!;
        await world.agents.get(container.Id)!.close();
        world.docker.setStatus(sandboxId, "running", new Date().toISOString());
        const starting = (await getJson(`${world.app.url}/api/v1/sandboxes?id=${sandboxId}`)).body[0];
        expect(starting).toMatchObject({ status: "STARTING", exposed_urls: null, session_api_key: null });
        world.docker.setStatus(sandboxId, "running", new Date(Date.now() - 16_000).toISOString());
        expect(await status()).toBe("ERROR");
      },
    );

    test("GIVEN an id without this app's prefix THEN null, and Docker is not asked for it", async () => {
      const before = world.docker.calls.length;
      const { body } = await getJson(`${world.app.url}/api/v1/sandboxes?id=oh-app-someone&id=${sandboxId}`);
      expect(body[0]).toBeNull();
      expect(world.docker.calls.slice(before).some((call) => call.path.includes("oh-app-someone"))).toBe(false);
    });

    test("GIVEN delete THEN stop(timeout=10), remove with docker-py's query, then the workspace volume is looked up", async () => {
      world.docker.setStatus(sandboxId, "running");
      const reply = await getJson(`${world.app.url}/api/v1/sandboxes/${sandboxId}`, { method: "DELETE" });
      expect(reply).toEqual({ status: 200, body: { success: true } });
      const paths = world.docker.calls.map((call) => `${call.method} ${call.path}`);
      const container = paths.find((path) => /^POST \/v1\.41\/containers\/[0-9a-f]{64}\/stop\?t=10$/.test(path));
      expect(container).toBeDefined();
      expect(paths).toContainEqual(expect.stringMatching(/^DELETE \/v1\.41\/containers\/[0-9a-f]{64}\?v=False&link=False&force=False$/));
      expect(paths).toContain(`GET /v1.41/volumes/openhands-workspace-${sandboxId}`);
      expect(world.docker.find(sandboxId)).toBeUndefined();
    });
  });
});

describe.each(APP_VERSIONS.map((version) => [version]))("OpenHands %s app fake, refusals", (version: AppVersion) => {
  test("GIVEN OH_SANDBOX_KIND is not set THEN no sandbox is created: the start task fails and POST /sandboxes is a 500", async () => {
    const world = await startWorld(version, { env: { OH_SANDBOX_KIND: undefined } });
    try {
      const started = await postJson(`${world.app.url}/api/v1/app-conversations`, {});
      const task = await waitForTask(world.app.url, started.body.id);
      expect(task.status).toBe("ERROR");
      expect(task.detail).toContain("OH_SANDBOX_KIND");
      expect((await postJson(`${world.app.url}/api/v1/sandboxes`, {})).status).toBe(500);
      expect(world.docker.calls.some((call) => call.path.includes("/containers/create"))).toBe(false);
    } finally {
      await world.close();
    }
  });

  test(
    "GIVEN the app's MCP endpoint is not reachable from the sandbox THEN the " +
      "agent-server refuses the conversation and the task is ERROR",
    async () => {
      // OH_WEB_URL decides where sandboxes look for MCP (LSC L2138-2142); nothing listens on port 9 here.
      const world = await startWorld(version, { env: { OH_WEB_URL: "http://127.0.0.1:9" } });
      try {
        const started = await postJson(`${world.app.url}/api/v1/app-conversations`, {});
        const task = await waitForTask(world.app.url, started.body.id);
        expect(task.status).toBe("ERROR");
        expect(task.detail).toContain("500");
        const agent = [...world.agents.values()][0]!;
        expect(agent.callbacks.some((callback) => callback.kind === "mcp" && callback.status === "error")).toBe(true);
      } finally {
        await world.close();
      }
    },
  );

  test("GIVEN an agent-server that never answers /health THEN the task fails once the grace period is over", async () => {
    const world = await startWorld(version, { silentSandboxes: true, env: { OH_SANDBOX_STARTUP_GRACE_SECONDS: "1" } });
    try {
      const started = await postJson(`${world.app.url}/api/v1/app-conversations`, {});
      const task = await waitForTask(world.app.url, started.body.id);
      expect(task.status).toBe("ERROR");
      expect(task.detail).toContain("error state");
    } finally {
      await world.close();
    }
  });

  test("GIVEN OH_SANDBOX_MAX_NUM_SANDBOXES=1 THEN every start fails as upstream's pause_old_sandboxes(0) does", async () => {
    const world = await startWorld(version, { env: { OH_SANDBOX_MAX_NUM_SANDBOXES: "1" } });
    try {
      const started = await postJson(`${world.app.url}/api/v1/app-conversations`, {});
      const task = await waitForTask(world.app.url, started.body.id);
      expect(task).toMatchObject({ status: "ERROR", detail: "max_num_sandboxes must be greater than 0" });
    } finally {
      await world.close();
    }
  });

  test("GIVEN a git provider token THEN the sandbox reads it through /secrets with the app's signed token", async () => {
    const world = await startWorld(version, { providerTokens: { github: "ghp_example" } });
    try {
      const started = await postJson(`${world.app.url}/api/v1/app-conversations`, {});
      expect((await waitForTask(world.app.url, started.body.id)).status).toBe("READY");
      await eventually(() => world.app.webhooks.includes("/api/v1/webhooks/secrets"));
      const agent = [...world.agents.values()][0]!;
      expect(agent.callbacks).toContainEqual(expect.objectContaining({ kind: "secret", status: 200 }));
    } finally {
      await world.close();
    }
  });

  test("GIVEN the image is missing but pullable THEN images.get, pull (tag, fromImage), get, then create", async () => {
    const world = await startWorld(version, { image: "pullable" });
    try {
      const started = await postJson(`${world.app.url}/api/v1/app-conversations`, {});
      expect((await waitForTask(world.app.url, started.body.id)).status).toBe("READY");
      const paths = world.docker.calls.map((call) => `${call.method} ${call.path}`).filter((path) => /images|create/.test(path));
      const [repository, tag] = [world.image.slice(0, world.image.lastIndexOf(":")), world.image.slice(world.image.lastIndexOf(":") + 1)];
      expect(paths.slice(0, 4)).toEqual([
        `GET /v1.41/images/${world.image}/json`,
        `POST /v1.41/images/create?${new URLSearchParams({ tag, fromImage: repository }).toString()}`,
        `GET /v1.41/images/${world.image}/json`,
        expect.stringMatching(/^POST \/v1\.41\/containers\/create\?name=oh-sbx-test-/),
      ]);
    } finally {
      await world.close();
    }
  });

  test("GIVEN the image is missing and cannot be pulled THEN the task fails and no container is created", async () => {
    const world = await startWorld(version, { image: "absent" });
    try {
      const started = await postJson(`${world.app.url}/api/v1/app-conversations`, {});
      const task = await waitForTask(world.app.url, started.body.id);
      expect(task).toMatchObject({ status: "ERROR", detail: `Error Getting Docker Image: ${world.image}` });
      expect(world.docker.calls.some((call) => call.path.includes("/containers/create"))).toBe(false);
    } finally {
      await world.close();
    }
  });
});

describe("the version switch", () => {
  test("GIVEN no image variables THEN each version asks for the agent-server it pins", async () => {
    const { readAppConfig } = await import("../src/app/config");
    expect(readAppConfig("1.7.0", {}).agentServerImage).toBe("ghcr.io/openhands/agent-server:1.19.1-python");
    expect(readAppConfig("1.11.0", {}).agentServerImage).toBe("ghcr.io/openhands/agent-server:1.34.0-python");
  });

  test("GIVEN the default repository with another tag THEN 1.11.0 replaces the tag (from 1.9.1) and 1.7.0 keeps it", async () => {
    const { readAppConfig } = await import("../src/app/config");
    const env = { AGENT_SERVER_IMAGE_REPOSITORY: "ghcr.io/openhands/agent-server", AGENT_SERVER_IMAGE_TAG: "1.15.0-python" };
    expect(readAppConfig("1.7.0", env).agentServerImage).toBe("ghcr.io/openhands/agent-server:1.15.0-python");
    expect(readAppConfig("1.11.0", env).agentServerImage).toBe("ghcr.io/openhands/agent-server:1.34.0-python");
  });

  test("GIVEN OH_SANDBOX_* without OH_SANDBOX_KIND THEN they are ignored, as the env parser does", async () => {
    const { readAppConfig } = await import("../src/app/config");
    const config = readAppConfig("1.7.0", { OH_SANDBOX_CONTAINER_NAME_PREFIX: "oh-sbx-x-", OH_SANDBOX_HOST_PORT: "3999" });
    expect(config.containerNamePrefix).toBe("oh-agent-server-");
    expect(config.hostPort).toBe(3000);
  });

  test("GIVEN bad values THEN errors name the variable", async () => {
    const { readAppConfig } = await import("../src/app/config");
    const kind = { OH_SANDBOX_KIND: "DockerSandboxServiceInjector" };
    expect(() => readAppConfig("1.7.0", { ...kind, OH_SANDBOX_HOST_PORT: "abc" })).toThrow(/OH_SANDBOX_HOST_PORT: "abc"/);
    expect(() => readAppConfig("1.7.0", { ...kind, OH_SANDBOX_EXTRA_HOSTS: "{" })).toThrow(/OH_SANDBOX_EXTRA_HOSTS/);
    expect(() => readAppConfig("1.7.0", { ...kind, OH_SANDBOX_CONTAINER_URL_PATTERN: "http://x" })).toThrow(/\{port\}/);
  });
});
