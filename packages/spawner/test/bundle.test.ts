/**
 * The bundle the host runs, `node dist/spawner.js --config <file>`, as a child process against the fake
 * Docker engine, the fake OpenHands app and a real PostgreSQL: the whole start of a user, over the wire.
 * (The package's build produces dist/spawner.js before its tests run.)
 */
import { describeWithEngine } from "@openhands-team/docker-lab";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "pg";
import { userDatabasePassword } from "../src/database";
import { startPostgres, type TestPostgres } from "../testing/postgres";
import { eventually, freePort, http, startHarness, user, type Harness } from "./helpers/harness";

jest.setTimeout(60_000);
const bundle = join(__dirname, "..", "dist", "spawner.js");

describeWithEngine("dist/spawner.js", () => {
  let pg: TestPostgres;
  let h: Harness;
  let child: ChildProcess | undefined;
  let output = "";
  let apiUrl = "";

  beforeAll(async () => {
    if (!existsSync(bundle)) throw new Error("dist/spawner.js is missing: run the package build first");
    pg = await startPostgres();
    h = await startHarness();
    const apiPort = await freePort();
    const secretFile = join(h.dir, "db-password-key");
    writeFileSync(secretFile, "key-from-a-file\n", { mode: 0o600 });
    const config = {
      appHost: h.config.appHost,
      runtimeDomain: h.config.runtimeDomain,
      region: h.config.region,
      eventsBucket: h.config.eventsBucket,
      api: { host: "127.0.0.1", port: apiPort },
      docker: h.config.docker,
      images: h.config.images,
      network: h.config.network,
      paths: h.config.paths,
      database: { host: pg.host, port: pg.port, adminUser: pg.user, adminPassword: pg.password },
      secrets: { dbPasswordKey: { file: secretFile }, openhandsJwtSecret: "jwt-secret-value", llmGatewayKey: "sk-llm-key-value-master" },
      llm: { model: "litellm_proxy/claude-sonnet" },
      timing: { healthTimeoutMs: 10_000, healthIntervalMs: 20, ensureWaitMs: 10_000, cullIntervalMs: 3_600_000 },
    };
    const file = join(h.dir, "spawner.json");
    writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
    child = spawn(process.execPath, [bundle, "--config", file], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout!.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
    apiUrl = `http://127.0.0.1:${apiPort}`;
    await eventually(async () => (await http({ url: `${apiUrl}/healthz` }).catch(() => ({ status: 0 }))).status === 200, 15_000);
  });
  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child!.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
    await h?.close();
    await pg?.stop();
  });

  it(
    "GIVEN a new user WHEN the proxy calls ensure THEN the app runs with " + "its own PostgreSQL database, which its role can use",
    async () => {
      const alice = user(201);
      const res = await http({
        url: `${apiUrl}/v1/users/${alice.slug}/ensure`,
        method: "POST",
        body: { sub: alice.sub, email: "a@example.com" },
      });
      expect(res.status).toBe(200);
      expect(res.json().state).toBe("running");
      const env = h.engine.find(`oh-app-${alice.slug}`)!.Config.Env;
      const value = (key: string) => env.find((e) => e.startsWith(`${key}=`))!.slice(key.length + 1);
      expect(value("DB_HOST")).toBe(pg.host);
      const client = new Client({
        host: pg.host,
        port: pg.port,
        user: value("DB_USER"),
        password: value("DB_PASS"),
        database: value("DB_NAME"),
      });
      await client.connect();
      expect((await client.query("SELECT current_user AS who")).rows[0].who).toBe(`oh_${alice.slug}`);
      await client.end();
    },
  );

  it("GIVEN the run so far THEN every log line is JSON and no credential appears", () => {
    const lines = output.split("\n").filter(Boolean);
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    expect(output).not.toMatch(/key-from-a-file|jwt-secret-value|sk-llm-key-value-master|admin-test-password/);
    expect(output).not.toContain(userDatabasePassword("key-from-a-file", user(201).slug));
  });

  it("GIVEN SIGTERM THEN the process exits 0 and leaves the containers running", async () => {
    const exited = new Promise<number | null>((resolve) => child!.once("exit", (code) => resolve(code)));
    child!.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(h.engine.find(`oh-app-${user(201).slug}`)!.State.Status).toBe("running");
  });
});
