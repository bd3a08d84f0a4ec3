/**
 * The host compose project, brought up for real on the lab's Docker engine (packages/docker-lab): the files the
 * installer renders (dry run) are the ones that run. Only what cannot exist here is changed, and each change is
 * listed in `labOverride` below:
 * - images: the stand-ins of docker-lab (the OpenResty, LiteLLM, OpenHands and Node images cannot be pulled here;
 *   the LiteLLM and OpenHands stand-ins are contract fakes from @openhands-team/openhands-fakes);
 * - logging: json-file instead of awslogs (no CloudWatch here);
 * - paths: the rendered tree lives in a temporary root, so every host path is moved under it (the same-path
 *   mounts of the spawner stay same-path);
 * - the database: a real PostgreSQL on the lab's loopback instead of Aurora; the Docker socket: the lab's.
 * The lab's network namespace plays the host's: `network_mode: host` services share it with this test.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describeWithEngine, docker, ensureImage, labEngine, STAND_IN } from "@openhands-team/docker-lab";
import { slugForSub } from "@openhands-team/spawner";
import { startPostgres, type TestPostgres } from "@openhands-team/spawner/testing";
import { DryRunHost } from "./support/dry-run";

const HOST_PATHS = [
  "/opt/openhands-team",
  "/etc/openhands-team",
  "/run/openhands-team",
  "/mnt/openhands-efs",
  "/run/ohdocker",
  "/var/run/oh-proxy",
];
const PROJECT = `oh-compose-${process.pid}`;

function relocate(text: string, root: string): string {
  let out = text;
  for (const path of HOST_PATHS) out = out.split(path).join(`${root}${path}`);
  return out;
}

function compose(files: readonly string[], envFile: string, args: readonly string[]): { status: number; output: string } {
  const result = spawnSync(
    "docker-compose",
    ["--project-name", PROJECT, ...files.flatMap((f) => ["-f", f]), "--env-file", envFile, ...args],
    {
      encoding: "utf8",
      env: { ...process.env, DOCKER_HOST: `unix://${labEngine()?.socketPath}`, COMPOSE_INTERACTIVE_NO_CLI: "1" },
      timeout: 180_000,
    },
  );
  return { status: result.status ?? 1, output: `${result.stdout}${result.stderr}` };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${what} did not happen within ${timeoutMs / 1000} s${last ? `: ${String(last)}` : ""}`);
}

async function getJson(url: string, init?: RequestInit): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(5_000) });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // plain text answer
  }
  return { status: response.status, body };
}

describeWithEngine("GIVEN the host compose project rendered by install.sh WHEN it is brought up on a real Docker engine", () => {
  const host = new DryRunHost();
  let pg: TestPostgres;
  let files: string[] = [];
  let envFile = "";
  let up = { status: 1, output: "" };

  beforeAll(async () => {
    const install = host.run();
    if (install.code !== 0) throw new Error(`install.sh dry run failed:\n${install.stderr}`);
    pg = await startPostgres();
    await ensureImage(STAND_IN.openresty);
    await ensureImage(STAND_IN.node);
    await ensureImage(STAND_IN.llmGateway);
    await ensureImage(STAND_IN.app["1.7.0"]);
    await ensureImage(STAND_IN.agentServer["1.19.1-python"]);
    const root = host.root;
    const at = (path: string) => join(root, path);

    // .env: the stand-in images and the relocated paths
    const env = relocate(host.file("etc/openhands-team/compose/.env"), root)
      .replace(/^OH_IMAGE_OPENRESTY=.*$/m, `OH_IMAGE_OPENRESTY=${STAND_IN.openresty}`)
      .replace(/^OH_IMAGE_NODE=.*$/m, `OH_IMAGE_NODE=${STAND_IN.node}`)
      .replace(/^OH_IMAGE_LLM_GATEWAY=.*$/m, `OH_IMAGE_LLM_GATEWAY=${STAND_IN.llmGateway}`);
    envFile = at("etc/openhands-team/compose/.env");
    writeFileSync(envFile, env);

    // the spawner: the lab's PostgreSQL and the stand-in OpenHands pair
    const spawner = JSON.parse(relocate(host.file("run/openhands-team/spawner.json"), root)) as Record<string, any>;
    spawner.database.host = pg.host;
    spawner.database.port = pg.port;
    spawner.database.adminUser = pg.user;
    spawner.images = { app: STAND_IN.app["1.7.0"], agentServer: STAND_IN.agentServer["1.19.1-python"] };
    writeFileSync(at("run/openhands-team/spawner.json"), JSON.stringify(spawner, null, 2));
    writeFileSync(at("run/openhands-team/secrets/db-admin-password"), `${pg.password}\n`);

    // the proxy: render its configuration with the installer's own renderer and the relocated settings
    const settings = at("etc/openhands-team/proxy-settings.json");
    writeFileSync(settings, relocate(readFileSync(settings, "utf8"), root));
    const render = spawnSync(
      "node",
      [at("opt/openhands-team/runtime-proxy/render.js"), "--settings", settings, "--out", at("etc/openhands-team/proxy")],
      { encoding: "utf8" },
    );
    if (render.status !== 0) throw new Error(`proxy render failed: ${render.stderr}`);

    const override = at("etc/openhands-team/compose/lab-override.yaml");
    const jsonLogs = "    logging: { driver: json-file, options: { max-size: 10m } }\n";
    writeFileSync(
      override,
      'version: "3.8"\nservices:\n' +
        `  proxy:\n${jsonLogs}` +
        `  spawner:\n${jsonLogs}    volumes:\n      - ${labEngine()?.socketPath}:/var/run/docker.sock\n` +
        `  llm-gateway:\n${jsonLogs}`,
    );
    files = [at("etc/openhands-team/compose/compose.yaml"), override];
    up = compose(files, envFile, ["up", "-d"]);
  }, 300_000);

  afterAll(async () => {
    if (envFile) {
      const down = compose(files, envFile, ["down", "--timeout", "5"]);
      if (down.status !== 0) console.warn(`docker-compose down: ${down.output}`);
    }
    // containers the spawner started (apps) and their networks are not part of the project
    const leftovers = docker(["ps", "-aq", "--filter", "name=oh-"], { allowFailure: true }).stdout.split("\n").filter(Boolean);
    if (leftovers.length) docker(["rm", "-f", ...leftovers], { allowFailure: true });
    const networks = docker(["network", "ls", "-q", "--filter", "name=oh-u-"], { allowFailure: true }).stdout.split("\n").filter(Boolean);
    if (networks.length) docker(["network", "rm", ...networks], { allowFailure: true });
    await pg?.stop();
    host.cleanup();
  }, 120_000);

  it("THEN docker-compose up succeeds and each of the three services runs with its restart policy", () => {
    expect(up.output).not.toMatch(/ERROR/);
    expect(up.status).toBe(0);
    const names = docker(["ps", "--filter", `label=com.docker.compose.project=${PROJECT}`, "--format", "{{.Names}}"])
      .stdout.split("\n")
      .filter(Boolean)
      .sort();
    expect(names).toEqual([`${PROJECT}_llm-gateway_1`, `${PROJECT}_proxy_1`, `${PROJECT}_spawner_1`]);
    for (const name of names) {
      expect(docker(["inspect", "--format", "{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.NetworkMode}}", name]).stdout.trim()).toBe(
        "always host",
      );
    }
  });

  it("THEN the proxy's health answers through the spawner, and the LLM gateway answers with its master key only", async () => {
    const health = await waitFor("the proxy's health", async () => {
      const reply = await getJson("http://127.0.0.1:8080/_oh/health");
      return reply.status === 200 ? reply : undefined;
    });
    expect(health.status).toBe(200);
    const spawner = await waitFor("the spawner's health", async () =>
      (await getJson("http://127.0.0.1:8081/healthz")).status === 200 ? true : undefined,
    );
    expect(spawner).toBe(true);
    const masterKey = /^LITELLM_MASTER_KEY=(.*)$/m.exec(readFileSync(join(host.root, "run/openhands-team/llm-gateway.env"), "utf8"))?.[1];
    expect(masterKey).toBeTruthy();
    const models = await waitFor("the LLM gateway", async () => {
      const reply = await getJson("http://127.0.0.1:4000/v1/models", { headers: { authorization: `Bearer ${masterKey}` } });
      return reply.status === 200 ? reply : undefined;
    });
    expect(models.status).toBe(200);
    const refused = await getJson("http://127.0.0.1:4000/v1/models", { headers: { authorization: "Bearer sk-not-the-key" } });
    expect(refused.status).toBe(401);
  });

  it("THEN the spawner in its container starts a user's OpenHands on the real engine, with its same-path mounts", async () => {
    const sub = "compose-user-sub";
    const slug = slugForSub(sub);
    const ensure = () =>
      getJson(`http://127.0.0.1:8081/v1/users/${slug}/ensure`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ sub, email: "compose@example.com" }),
      });
    const running = await waitFor(
      "the user's app",
      async () => {
        const reply = await ensure();
        if (reply.status >= 400 && reply.status !== 503) throw new Error(`ensure answered ${reply.status}: ${JSON.stringify(reply.body)}`);
        return reply.status === 200 ? reply : undefined;
      },
      120_000,
    );
    expect(running.body).toMatchObject({ state: "running", upstream: expect.stringMatching(/^http:\/\/10\.240\.\d+\.2:3000$/) });
    // the app's filtered Docker API socket exists at the same path on the host as in the spawner's container
    expect(existsSync(join(host.root, "run/ohdocker", slug, "docker.sock"))).toBe(true);
    const app = JSON.parse(docker(["inspect", `oh-app-${slug}`]).stdout)[0];
    expect(app.Config.Image).toBe(STAND_IN.app["1.7.0"]);
    expect(app.HostConfig.Binds).toEqual(expect.arrayContaining([`${join(host.root, "run/ohdocker", slug)}:/run/ohdocker:ro`]));
  }, 180_000);
});
