/**
 * The app fake on a real Docker engine (docker-lab): sandboxes are real containers of the agent-server stand-in
 * image, created through docker-py's calls; they call the app back through host.docker.internal (host-gateway).
 * Skips loudly outside `docker-lab run` (the package's `pnpm test` runs under it).
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describeWithEngine, ensureImage, labEngine, STAND_IN, docker } from "../../docker-lab/src";
import { startOpenHandsApp, type RunningOpenHandsApp } from "../src/app/server";
import { DockerPy } from "../src/docker-py";
import { AGENT_SERVER_OF, APP_VERSIONS, type AppVersion } from "../src/versions";
import { eventually, freePort, getJson, postJson, waitForTask } from "./support/world";

describeWithEngine("the app fake on a real Docker engine", () => {
  describe.each(APP_VERSIONS.map((version) => [version]))("OpenHands %s", (version: AppVersion) => {
    let app: RunningOpenHandsApp;
    let image: string;
    const prefix = `oh-sbx-engine${version.replace(/\./g, "")}-`;

    beforeAll(async () => {
      // The stand-in image is built from the bundle: make sure it is this source's.
      execFileSync(process.execPath, [join(__dirname, "..", "build", "bundle.mjs")]);
      image = await ensureImage(STAND_IN.agentServer[`${AGENT_SERVER_OF[version]}-python`]);
      const port = await freePort();
      const colon = image.lastIndexOf(":");
      app = await startOpenHandsApp({
        version,
        host: "0.0.0.0",
        port,
        env: {
          DOCKER_HOST: `unix://${labEngine()!.socketPath}`,
          OH_SANDBOX_KIND: "DockerSandboxServiceInjector",
          OH_SANDBOX_CONTAINER_NAME_PREFIX: prefix,
          OH_SANDBOX_CONTAINER_URL_PATTERN: "http://127.0.0.1:{port}",
          OH_SANDBOX_HOST_PORT: String(port),
          AGENT_SERVER_IMAGE_REPOSITORY: image.slice(0, colon),
          AGENT_SERVER_IMAGE_TAG: image.slice(colon + 1),
          OH_APP_CONVERSATION_SANDBOX_STARTUP_POLL_FREQUENCY: "0",
        },
      });
    }, 300_000);

    afterAll(async () => {
      await app?.close();
      const names = docker(["ps", "-aq", "--filter", `name=^${prefix}`])
        .stdout.split("\n")
        .filter(Boolean);
      if (names.length > 0) docker(["rm", "-f", ...names], { allowFailure: true });
    });

    test("GIVEN a conversation start THEN a real sandbox runs, becomes READY " +
      "and calls the app back with its key (webhooks, MCP)", async () => {
      const started = await postJson(`${app.url}/api/v1/app-conversations`, {});
      expect(started.body.status).toBe("WORKING");
      const task = await waitForTask(app.url, started.body.id, 60_000);
      expect(task).toMatchObject({ status: "READY", detail: null });
      const inspect = JSON.parse(docker(["inspect", task.sandbox_id]).stdout)[0];
      // The label the app sets (the stand-in image adds its own content label).
      expect(inspect.Config.Labels).toMatchObject({ sandbox_spec_id: image });
      expect(inspect.HostConfig).toMatchObject({ NetworkMode: "default", Init: true, ExtraHosts: ["host.docker.internal:host-gateway"] });
      expect(inspect.Config.WorkingDir).toBe("/workspace/project");
      await eventually(() => app.webhooks.includes("/api/v1/webhooks/conversations"), 20_000);
      expect(app.mcpCalls).toContain(task.app_conversation_id);
    }, 120_000);

    test("GIVEN the real container is paused, resumed, killed and started THEN the sandbox status follows it", async () => {
      const started = await postJson(`${app.url}/api/v1/sandboxes`, {});
      expect(started.body.status).toBe("STARTING");
      const id = started.body.id as string;
      const status = async (): Promise<string> => (await getJson(`${app.url}/api/v1/sandboxes?id=${id}`)).body[0]?.status;
      await eventually(async () => (await status()) === "RUNNING", 30_000);
      expect((await postJson(`${app.url}/api/v1/sandboxes/${id}/pause`, {})).status).toBe(200);
      expect(JSON.parse(docker(["inspect", id]).stdout)[0].State.Status).toBe("paused");
      expect(await status()).toBe("PAUSED");
      expect((await postJson(`${app.url}/api/v1/sandboxes/${id}/resume`, {})).status).toBe(200);
      await eventually(async () => (await status()) === "RUNNING", 30_000);
      docker(["kill", id]);
      expect(await status()).toBe("PAUSED");
      expect((await postJson(`${app.url}/api/v1/sandboxes/${id}/resume`, {})).status).toBe(200);
      await eventually(async () => (await status()) === "RUNNING", 30_000);
      expect((await getJson(`${app.url}/api/v1/sandboxes/${id}`, { method: "DELETE" })).status).toBe(200);
      expect(docker(["inspect", id], { allowFailure: true }).status).not.toBe(0);
    }, 120_000);

    test("GIVEN docker-py's list THEN the real engine answers the same paths the scripted one does", async () => {
      const client = new DockerPy(`unix://${labEngine()!.socketPath}`);
      expect(await client.version()).toMatch(/^1\.\d+$/);
      const containers = await client.listContainers();
      expect(containers.every((container) => /^[0-9a-f]{64}$/.test(container.id))).toBe(true);
      expect(
        ((await client.getContainer("no-such-container-here").catch((error: unknown) => error)) as { notFound?: boolean }).notFound,
      ).toBe(true);
    });
  });
});
