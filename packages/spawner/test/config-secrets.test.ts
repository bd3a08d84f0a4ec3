/**
 * Configuration errors never print secrets (an unknown top-level key once printed the whole document, inline
 * secrets included), loopback user subnets are refused, the admin password file is remembered for re-reading,
 * and the cull reason reads in seconds below a minute.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, loadConfig, parseConfig } from "../src/config";
import { idleText } from "../src/spawner";
import { minimalConfigDocument } from "./helpers/minimal-config";

const SECRETS = ["db-admin-SECRET-1", "hmac-key-SECRET-2", "jwt-SECRET-3", "sk-llm-key-SECRET-4-master"];
const withInlineSecrets = minimalConfigDocument({
  adminPassword: SECRETS[0],
  dbPasswordKey: SECRETS[1],
  openhandsJwtSecret: SECRETS[2],
  llmGatewayKey: SECRETS[3],
});

const messageOf = (input: unknown): string => {
  try {
    parseConfig(input);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("the configuration was accepted");
};
const expectNoSecret = (message: string) => {
  for (const secret of SECRETS) expect(message).not.toContain(secret);
};

describe("configuration errors never print secrets", () => {
  it("GIVEN an unknown top-level key THEN the message names the key, not the document (no inline secret)", () => {
    const message = messageOf({ ...withInlineSecrets, unexpected: true });
    expect(message).toContain('config.(root): unknown field "unexpected"');
    expectNoSecret(message);
  });

  it("GIVEN unknown keys inside the secrets and database objects THEN only key names are printed", () => {
    const message = messageOf({
      ...withInlineSecrets,
      secrets: { ...withInlineSecrets.secrets, extra: "x" },
      database: { ...withInlineSecrets.database, sslmode: "require" },
    });
    expect(message).toContain('unknown field "extra"');
    expect(message).toContain('unknown field "sslmode"');
    expectNoSecret(message);
  });

  it(
    "GIVEN a wrongly typed object holding secrets (secrets given as an array, " + "database as a string) THEN their values are not printed",
    () => {
      expectNoSecret(messageOf({ ...withInlineSecrets, secrets: [SECRETS[1], SECRETS[2]] }));
      expectNoSecret(messageOf({ ...withInlineSecrets, database: `postgres://u:${SECRETS[0]}@db` }));
    },
  );

  it("GIVEN a secret in a field that expects a short value THEN a long value is described by its length only", () => {
    const long = `${SECRETS[1]}-${"x".repeat(200)}`;
    const message = messageOf({ ...withInlineSecrets, region: long });
    expect(message).toMatch(/config\.region: \(a string of \d+ characters\) must be an AWS region/);
    expect(message).not.toContain(SECRETS[1]);
  });

  it("GIVEN a configuration file that is not valid JSON THEN the message gives the position, not the text around it", () => {
    const dir = mkdtempSync(join(tmpdir(), "spawner-config-"));
    try {
      const file = join(dir, "spawner.json");
      writeFileSync(file, JSON.stringify(withInlineSecrets).replace(`"${SECRETS[3]}"`, `${SECRETS[3]}"`));
      let message = "";
      try {
        loadConfig(["--config", file], {});
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toMatch(/^configuration is not valid JSON/);
      expectNoSecret(message);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the LLM gateway's master key", () => {
  // Each person's key is derived from it: a value that is not the gateway's master key would seed keys no gateway accepts.
  it.each([
    ["a value without sk-", "llm-gateway-SECRET-5-without-prefix"],
    ["a short sk- value", "sk-SECRET-6"],
    ["a person's key instead of the master key", `sk-oh-${"a".repeat(16)}-SECRET-7-${"A".repeat(33)}`],
  ])("GIVEN %s THEN refused with the file to fix, and the value is not printed", (_name, value) => {
    const message = messageOf(minimalConfigDocument({ llmGatewayKey: value }));
    expect(message).toContain("config.secrets.llmGatewayKey");
    expect(message).toContain("llm-gateway-api-key");
    expect(message).not.toMatch(/SECRET-[567]/);
  });

  it("GIVEN the host's sk-<secret> THEN accepted", () => {
    expect(
      parseConfig(minimalConfigDocument({ llmGatewayKey: "sk-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8" })).secrets.llmGatewayKey,
    ).toMatch(/^sk-/);
  });
});

describe("user subnets and the admin password file", () => {
  it("GIVEN subnetPrefix 127.240 THEN refused as loopback with a clear reason", () => {
    const message = messageOf({ ...withInlineSecrets, network: { subnetPrefix: "127.240" } });
    expect(message).toContain('config.network.subnetPrefix: "127.240" is loopback: user subnets must be in 10.0.0.0/8');
    expect(messageOf({ ...withInlineSecrets, network: { subnetPrefix: "10.256" } })).toMatch(/subnetPrefix: "10\.256" must be two octets/);
    expect(parseConfig({ ...withInlineSecrets, network: { subnetPrefix: "10.241" } }).network.subnetPrefix).toBe("10.241");
  });

  it("GIVEN the admin password as {file} THEN it is read and the path is kept for a re-read after rotation; inline gives no path", () => {
    const dir = mkdtempSync(join(tmpdir(), "spawner-config-"));
    try {
      const file = join(dir, "admin");
      writeFileSync(file, "from-file\n");
      const config = parseConfig({ ...withInlineSecrets, database: { ...withInlineSecrets.database, adminPassword: { file } } });
      expect(config.database.adminPassword).toBe("from-file");
      expect(config.database.adminPasswordFile).toBe(file);
      expect(parseConfig(withInlineSecrets).database.adminPasswordFile).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("cull reason", () => {
  it("reads in seconds below a minute and in minutes above", () => {
    expect(idleText(0)).toBe("0 s");
    expect(idleText(42_400)).toBe("42 s");
    expect(idleText(59_000)).toBe("59 s");
    expect(idleText(60_000)).toBe("1 min");
    expect(idleText(3_600_000)).toBe("60 min");
  });
});
