import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, loadConfig, parseConfig } from "../src/config";
import { minimalConfigDocument } from "./helpers/minimal-config";

const minimal = minimalConfigDocument();

describe("spawner configuration", () => {
  it(
    "GIVEN the minimal document THEN defaults follow docs/CONTRACTS.md (API " + "127.0.0.1:8081, relay 3000, LLM gateway 4000, 10.240/16)",
    () => {
      const config = parseConfig(minimal);
      expect(config.api).toEqual({ host: "127.0.0.1", port: 8081 });
      expect(config.network).toEqual({
        subnetPrefix: "10.240",
        appPort: 3000,
        relayPort: 3000,
        llmGatewayPort: 4000,
        subnetReuseDelayMs: 60_000,
      });
      expect(config.users).toEqual({
        idleMinutes: 60,
        maxRunningApps: 20,
        maxRunningSandboxes: 30,
        sandboxesPerUser: 3,
        maxSandboxContainersPerUser: 50,
      });
      expect(config.docker.socketPath).toBe("/var/run/docker.sock");
      expect(config.database.port).toBe(5432);
    },
  );

  it("GIVEN bad fields THEN every one is named with its value and what is expected, and secrets are not echoed", () => {
    const bad = {
      ...minimal,
      appHost: "Not A Host",
      images: { app: "openhands@sha256:abc", agentServer: minimal.images.agentServer },
      network: { subnetPrefix: "192.168" },
      database: { ...minimal.database, adminPassword: "" },
      extra: 1,
    };
    let message = "";
    try {
      parseConfig(bad);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      message = (error as Error).message;
    }
    expect(message).toMatch(/config\.appHost: "Not A Host" must be a lower-case DNS name/);
    expect(message).toMatch(/config\.images\.app: "openhands@sha256:abc" must be <repository>:<tag>/);
    expect(message).toMatch(/config\.network\.subnetPrefix: "192\.168" must be two octets/);
    expect(message).toMatch(/config\.database\.adminPassword: \[redacted\]/);
    expect(message).toMatch(/extra/);
  });

  it("GIVEN secrets as files THEN they are read; a missing file is a clear error", () => {
    const dir = mkdtempSync(join(tmpdir(), "spawner-config-"));
    try {
      writeFileSync(join(dir, "db"), "from-file\n");
      const config = parseConfig({ ...minimal, secrets: { ...minimal.secrets, dbPasswordKey: { file: join(dir, "db") } } });
      expect(config.secrets.dbPasswordKey).toBe("from-file");
      expect(() => parseConfig({ ...minimal, secrets: { ...minimal.secrets, llmGatewayKey: { file: join(dir, "missing") } } })).toThrow(
        /config\.secrets\.llmGatewayKey: cannot read secret file/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it(
    "GIVEN --config, SPAWNER_CONFIG_FILE or SPAWNER_CONFIG_JSON THEN the " + "document is found; none, or broken JSON, is a clear error",
    () => {
      const dir = mkdtempSync(join(tmpdir(), "spawner-config-"));
      try {
        const file = join(dir, "spawner.json");
        writeFileSync(file, JSON.stringify(minimal));
        expect(loadConfig(["--config", file], {}).appHost).toBe("openhands.example.com");
        expect(loadConfig([], { SPAWNER_CONFIG_FILE: file }).region).toBe("eu-central-1");
        expect(loadConfig([], { SPAWNER_CONFIG_JSON: JSON.stringify(minimal) }).eventsBucket).toBe("oh-events");
        expect(() => loadConfig([], {})).toThrow(/pass --config <file.json>/);
        expect(() => loadConfig(["--config"], {})).toThrow(/needs a file path/);
        expect(() => loadConfig([], { SPAWNER_CONFIG_JSON: "{nope" })).toThrow(/not valid JSON/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
