/**
 * The contract for every verified OpenHands pair (1.7.0 with agent-server 1.19.1-python, 1.11.0 with
 * 1.34.0-python): the app's environment holds only variables that version reads, the configuration knows the
 * version, and on the real engine (docker-lab stand-ins that follow each version) a user's app starts healthy,
 * is seeded, starts a conversation whose sandbox answers /health, and serves the webhook and MCP paths.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describeWithEngine, ensureImage, STAND_IN } from "@openhands-team/docker-lab";
import { appEnvironment, openhandsVersion, versionAtLeast } from "../src/app-environment";
import { parseConfig, type SpawnerConfigInput } from "../src/config";
import { eventually, http, user } from "./helpers/harness";
import { execNode, inspect, startLabSpawner, type LabSpawner } from "./helpers/lab-spawner";

const PAIRS = [
  { app: "1.7.0", agentServer: "1.19.1-python" },
  { app: "1.11.0", agentServer: "1.34.0-python" },
] as const;

/**
 * What each version reads, from its source (../shared/reference/openhands-1.11-facts.md, "Environment"):
 * 1.7.0 reads FILE_STORE/FILE_STORE_PATH and no SSL setting; 1.11.0 reads DB_SSL_MODE and keeps its settings
 * under OH_PERSISTENCE_DIR. AWS_* are read by boto3 and FORWARDED_ALLOW_IPS by uvicorn, in both.
 */
const COMMON = [
  "DB_HOST",
  "DB_PORT",
  "DB_NAME",
  "DB_USER",
  "DB_PASS",
  "OH_PERSISTENCE_DIR",
  "OH_EVENT_KIND",
  "OH_EVENT_BUCKET_NAME",
  "OH_EVENT_PREFIX",
  "AWS_REGION",
  "AWS_DEFAULT_REGION",
  "OH_SANDBOX_KIND",
  "OH_SANDBOX_CONTAINER_NAME_PREFIX",
  "OH_SANDBOX_MAX_NUM_SANDBOXES",
  "OH_SANDBOX_CONTAINER_URL_PATTERN",
  "OH_SANDBOX_STARTUP_GRACE_SECONDS",
  "OH_SANDBOX_HOST_PORT",
  "OH_SANDBOX_EXTRA_HOSTS",
  "AGENT_SERVER_IMAGE_REPOSITORY",
  "AGENT_SERVER_IMAGE_TAG",
  "DOCKER_HOST",
  "OH_PERMITTED_CORS_ORIGINS_0",
  "FORWARDED_ALLOW_IPS",
  "JWT_SECRET",
  "LOG_JSON",
  "LOG_LEVEL",
  "POSTHOG_CLIENT_KEY",
];
const READS: Record<string, readonly string[]> = {
  "1.7.0": [...COMMON, "FILE_STORE", "FILE_STORE_PATH"],
  "1.11.0": [...COMMON, "DB_SSL_MODE"],
};

const environmentOf = (version: string) =>
  Object.fromEntries(
    appEnvironment({
      slug: "abcdefghijklmnop",
      database: { host: "db.internal", port: 5432, database: "oh_x", user: "oh_x", password: "p" },
      gateway: "10.240.1.1",
      relayPort: 3000,
      appHost: "openhands.example.com",
      region: "eu-central-1",
      eventsBucket: "events",
      agentServerImage: `ghcr.io/openhands/agent-server:${PAIRS.find((p) => p.app === version)!.agentServer}`,
      sandboxesPerUser: 3,
      jwtSecret: "jwt",
      openhandsVersion: version,
      sandboxStartupGraceSeconds: 120,
    }),
  );

describe.each(PAIRS)("GIVEN the verified pair OpenHands $app with agent-server $agentServer", ({ app }) => {
  it("THEN the app's environment holds exactly the variables that version reads", () => {
    expect(Object.keys(environmentOf(app)).sort()).toEqual([...READS[app]!].sort());
  });

  it("THEN the database connection requires TLS exactly when the version can ask for it (1.8.0 and later)", () => {
    expect(environmentOf(app).DB_SSL_MODE).toBe(versionAtLeast(app, "1.8.0") ? "require" : undefined);
  });

  it("THEN the spawner configuration derives the version from the app image tag", () => {
    expect(openhandsVersion({ app: `docker.openhands.dev/openhands/openhands:${app}` })).toBe(app);
  });
});

describe("GIVEN the OpenHands version in the spawner configuration", () => {
  const base = (images: Record<string, string>): SpawnerConfigInput => ({
    appHost: "openhands.example.com",
    runtimeDomain: "runtime.example.com",
    region: "eu-central-1",
    eventsBucket: "oh-events",
    images: images as SpawnerConfigInput["images"],
    paths: { efsRoot: "/mnt/efs", dockerApiDir: "/run/oh" },
    database: { host: "db", adminUser: "admin", adminPassword: "x" },
    secrets: { dbPasswordKey: "a", openhandsJwtSecret: "b", llmGatewayKey: "sk-gateway-master-key-c" },
    llm: { model: "m" },
  });
  it("WHEN the app tag is not a version and no openhandsVersion is given THEN refused, naming the field", () => {
    expect(() => parseConfig(base({ app: "r/openhands:main-abc", agentServer: "r/agent:1.34.0-python" }))).toThrow(
      /images\.openhandsVersion: .*set images\.openhandsVersion/,
    );
  });
  it("WHEN openhandsVersion is given THEN it wins over the tag; a malformed one is refused", () => {
    expect(
      openhandsVersion(parseConfig(base({ app: "r/openhands:custom", agentServer: "r/agent:x", openhandsVersion: "1.11.0" })).images),
    ).toBe("1.11.0");
    expect(() => parseConfig(base({ app: "r/openhands:1.11.0", agentServer: "r/agent:x", openhandsVersion: "1.11" }))).toThrow(
      /must be an OpenHands version/,
    );
  });
  it("WHEN users.sandboxesPerUser is 1 THEN refused, saying why (OpenHands pauses down to max - 1 and fails at 0); 2 is accepted", () => {
    const images = { app: "r/openhands:1.11.0", agentServer: "r/agent:1.34.0-python" };
    expect(() => parseConfig({ ...base(images), users: { sandboxesPerUser: 1 } })).toThrow(
      /config\.users\.sandboxesPerUser: 1 must be at least 2 \(OpenHands pauses older sandboxes down to this limit minus 1/,
    );
    expect(parseConfig({ ...base(images), users: { sandboxesPerUser: 2 } }).users.sandboxesPerUser).toBe(2);
  });
  it("WHEN a version string is compared THEN by numbers, not text (1.11.0 is after 1.8.0)", () => {
    expect(versionAtLeast("1.11.0", "1.8.0")).toBe(true);
    expect(versionAtLeast("1.7.0", "1.8.0")).toBe(false);
    expect(() => versionAtLeast("latest", "1.8.0")).toThrow(/not a major\.minor\.patch/);
  });
});

for (const { app, agentServer } of PAIRS)
  describeWithEngine(`spawner with OpenHands ${app} and agent-server ${agentServer} on a real Docker engine`, () => {
    let lab: LabSpawner;
    const alice = user(app === "1.7.0" ? 401 : 402);

    beforeAll(async () => {
      const images = { app: await ensureImage(STAND_IN.app[app]), agentServer: await ensureImage(STAND_IN.agentServer[agentServer]) };
      await ensureImage(STAND_IN.node);
      lab = await startLabSpawner(images);
    });
    afterAll(async () => {
      await lab?.close();
    });

    it(
      "WHEN ensure runs THEN the app is healthy with that version's environment and seeded settings; a conversation start gets a " +
        "sandbox that answers /health; webhooks and MCP answer",
      async () => {
        const res = await http({ url: `${lab.service.apiUrl}/v1/users/${alice.slug}/ensure`, method: "POST", body: { sub: alice.sub } });
        expect(res.status).toBe(200);
        const upstream: string = res.json().upstream;
        const container = inspect(`oh-app-${alice.slug}`);
        const env = Object.fromEntries(
          (container.Config.Env as string[]).map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
        );
        for (const name of Object.keys(environmentOf(app))) expect(env).toHaveProperty(name);
        expect("FILE_STORE_PATH" in env).toBe(app === "1.7.0");
        expect(env.DB_SSL_MODE).toBe(app === "1.7.0" ? undefined : "require");
        // The default grace (120 s) replaces OpenHands' 15 s, which a cold agent-server on a loaded host can miss.
        expect(env.OH_SANDBOX_STARTUP_GRACE_SECONDS).toBe("120");
        // Seeded: each version keeps settings.json in the user's EFS folder (1.7.0 via FILE_STORE_PATH, 1.11.0 via OH_PERSISTENCE_DIR).
        const settings = readFileSync(join(lab.config.paths.efsRoot, "users", alice.slug, "openhands", "settings.json"), "utf8");
        expect(settings).toContain("litellm_proxy/claude-sonnet");
        expect((await http({ url: `${upstream}/api/v1/settings` })).status).toBe(200);
        // MCP is mounted at /mcp with path /mcp.
        const mcp = await http({
          url: `${upstream}/mcp/mcp`,
          method: "POST",
          body: { jsonrpc: "2.0", id: 1, method: "tools/list" },
          headers: { accept: "application/json, text/event-stream" },
        });
        expect(mcp.status).toBeLessThan(500);
        expect(mcp.status).not.toBe(404);

        // A conversation start: the app creates the sandbox through its filtered socket and waits for its /health.
        const started = await http({ url: `${upstream}/api/v1/app-conversations`, method: "POST", body: {} });
        expect(started.status).toBe(200);
        const taskId: string = started.json().id;
        const task = await eventually(async () => {
          const [found] = (await http({ url: `${upstream}/api/v1/app-conversations/start-tasks?ids=${taskId}` })).json();
          return found && (found.status === "READY" || found.status === "ERROR") ? found : undefined;
        }, 90_000);
        expect({ status: task.status, detail: task.detail ?? null }).toEqual({ status: "READY", detail: null });
        const sandbox = inspect(task.sandbox_id);
        expect(sandbox.Config.Image).toBe(lab.config.images.agentServer);
        const port = Object.values(sandbox.NetworkSettings.Ports as Record<string, Array<{ HostIp: string; HostPort: string }>>).flat()[0]!;
        const health = await http({ url: `http://${port.HostIp}:${port.HostPort}/health` });
        expect(health.status).toBe(200);
        // The agent-server's own answer differs by version: "OK" in 1.19.1, {"status":"ok"} in 1.34.0.
        expect(health.json()).toEqual(agentServer === "1.19.1-python" ? "OK" : { status: "ok" });
        // The webhook path reaches the app through the relay: 401 without the sandbox's session key.
        const webhook = await execNode(
          task.sandbox_id,
          `require("http").request({host:"host.docker.internal",port:3000,path:"/api/v1/webhooks/conversations",method:"POST",` +
            `timeout:10000,headers:{"content-type":"application/json"}},(r)=>{console.log(r.statusCode);process.exit(0)}).on("error",` +
            `(e)=>{console.log("error "+e.code);process.exit(0)}).end("{}")`,
        );
        expect(webhook.stdout.trim()).toBe("401");
      },
    );
  });
