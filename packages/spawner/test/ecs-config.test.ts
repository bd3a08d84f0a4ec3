/**
 * The spawner's `backend` switch and its `ecs` section (docs/ecs.md, section 3): docker stays the default and
 * existing documents parse unchanged; ECS mode needs its section, and every bad value is refused with the field,
 * the value (unless secret) and what is expected.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, parseConfig } from "../src/config";
import { fargateSizeProblem } from "../src/ecs/task-definition-size";
import { minimalConfigDocument } from "./helpers/minimal-config";

const SANDBOX_SECRET = "sandbox-api-key-secret-0123456789abcdef";

function ecsSection(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    cluster: "openhands",
    subnets: ["subnet-0a1b2c3d4e5f60718", "subnet-0a1b2c3d4e5f60719"],
    appSecurityGroup: "sg-0123456789abcdef0",
    sandboxSecurityGroup: "sg-0123456789abcdef1",
    executionRoleArn: "arn:aws:iam::123456789012:role/openhands-ecs-execution",
    efsFileSystemId: "fs-0123456789abcdef0",
    hostPrivateAddress: "10.0.1.17",
    sandboxApiKeySecret: SANDBOX_SECRET,
    sandboxDomain: "sandboxes.openhands.internal",
    ...overrides,
  };
}

const ecsDocument = (overrides: Record<string, unknown> = {}) => ({
  ...minimalConfigDocument(),
  backend: "ecs",
  ecs: ecsSection(overrides),
});

function messageOf(input: unknown): string {
  try {
    parseConfig(input);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("the configuration was accepted");
}

describe("backend: docker stays the default", () => {
  it("GIVEN a document without backend THEN it is docker, with no ecs settings", () => {
    const config = parseConfig(minimalConfigDocument());
    expect(config.backend).toBe("docker");
    expect(config.ecs).toBeUndefined();
  });

  it("GIVEN backend docker with an ecs section THEN the section is still checked (a bad one is refused before the switch)", () => {
    expect(messageOf({ ...minimalConfigDocument(), backend: "docker", ecs: ecsSection({ cluster: "no spaces" }) })).toContain(
      'config.ecs.cluster: "no spaces" must be an ECS cluster name or ARN',
    );
  });

  it("GIVEN an unknown backend THEN it is refused by name", () => {
    expect(messageOf({ ...minimalConfigDocument(), backend: "kubernetes" })).toMatch(/config\.backend: "kubernetes" .*docker.*ecs/);
  });
});

describe("backend: ecs", () => {
  it("GIVEN a complete section THEN the defaults fill in (region, app image, size, ports, timings)", () => {
    const config = parseConfig(ecsDocument());
    expect(config.backend).toBe("ecs");
    expect(config.ecs).toEqual({
      ...ecsSection(),
      region: "eu-central-1",
      appImage: "ghcr.io/openhands/openhands:1.7.0",
      appCpu: 1024,
      appMemoryMiB: 2048,
      sandboxApiPort: 8082,
      taskStartTimeoutMs: 240_000,
      taskPollIntervalMs: 2_000,
      viewRefreshIntervalMs: 15_000,
    });
  });

  it("GIVEN the sandbox API key secret as a file THEN it is read like the other secrets", () => {
    const dir = mkdtempSync(join(tmpdir(), "ecs-config-"));
    try {
      const file = join(dir, "sandbox-api-key-secret");
      writeFileSync(file, `${SANDBOX_SECRET}\n`);
      expect(parseConfig(ecsDocument({ sandboxApiKeySecret: { file } })).ecs?.sandboxApiKeySecret).toBe(SANDBOX_SECRET);
      expect(messageOf(ecsDocument({ sandboxApiKeySecret: { file: join(dir, "missing") } }))).toContain(
        "config.ecs.sandboxApiKeySecret: cannot read secret file",
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("GIVEN backend ecs without its section THEN the message says what it needs", () => {
    expect(messageOf({ ...minimalConfigDocument(), backend: "ecs" })).toContain('config.ecs: missing is required when backend is "ecs"');
  });

  it("GIVEN a task size outside the Fargate table THEN the field and the sizes that fit are named", () => {
    expect(messageOf(ecsDocument({ appCpu: 1024, appMemoryMiB: 1024 }))).toContain(
      "config.ecs.appMemoryMiB: 1024 with appCpu 1024: 1024 MiB is not a Fargate memory size for 1024 CPU units " +
        "(expected 2048 to 8192 in steps of 1024 MiB)",
    );
    expect(messageOf(ecsDocument({ appCpu: 1000 }))).toContain("1000 CPU units is not a Fargate task size (expected one of 256, 512");
    expect(messageOf(ecsDocument({ appCpu: 256, appMemoryMiB: 4096 }))).toContain("(expected 512, 1024, 2048 MiB)");
  });

  it("GIVEN every pair of the Fargate table THEN each is accepted, and one step beyond each row's ends is not", () => {
    const rows: Array<[number, number, number, number]> = [
      [256, 512, 2048, 1024],
      [512, 1024, 4096, 1024],
      [1024, 2048, 8192, 1024],
      [2048, 4096, 16384, 1024],
      [4096, 8192, 30720, 1024],
      [8192, 16384, 61440, 4096],
      [16384, 32768, 122880, 8192],
    ];
    for (const [cpu, low, high, step] of rows) {
      expect(fargateSizeProblem(cpu, low)).toBeUndefined();
      expect(fargateSizeProblem(cpu, high)).toBeUndefined();
      expect(fargateSizeProblem(cpu, low - step)).toBeDefined();
      expect(fargateSizeProblem(cpu, high + step)).toBeDefined();
    }
    expect(parseConfig(ecsDocument({ appCpu: 4096, appMemoryMiB: 30720 })).ecs?.appMemoryMiB).toBe(30720);
  });

  it.each([
    ["subnets", ["subnet-xyz"], 'config.ecs.subnets.0: "subnet-xyz" must be a subnet ID'],
    ["subnets", [], "config.ecs.subnets: (an array) must name at least one private subnet"],
    ["appSecurityGroup", "sg-12", 'config.ecs.appSecurityGroup: "sg-12" must be a security group ID'],
    ["executionRoleArn", "openhands-execution", 'config.ecs.executionRoleArn: "openhands-execution" must be an IAM role ARN'],
    ["appTaskRoleArn", "arn:aws:iam::123456789012:role/x", 'config.ecs: unknown field "appTaskRoleArn"'],
    ["efsFileSystemId", "fsap-0123456789abcdef0", 'config.ecs.efsFileSystemId: "fsap-0123456789abcdef0" must be an EFS file system ID'],
    ["hostPrivateAddress", "52.28.1.2", 'config.ecs.hostPrivateAddress: "52.28.1.2" must be the host\'s private IPv4 address'],
    ["hostPrivateAddress", "127.0.0.1", 'config.ecs.hostPrivateAddress: "127.0.0.1" must be the host\'s private IPv4 address'],
    ["hostPrivateAddress", "10.0.1.300", 'config.ecs.hostPrivateAddress: "10.0.1.300" has an octet above 255'],
    ["sandboxDomain", "Sandboxes_Internal", 'config.ecs.sandboxDomain: "Sandboxes_Internal" must be a lower-case DNS name'],
    ["endpoint", "ftp://ecs.local", 'config.ecs.endpoint: "ftp://ecs.local" must be an http(s) URL'],
    ["appImage", "openhands", 'config.ecs.appImage: "openhands" must be <repository>:<tag>'],
    ["region", "Frankfurt", 'config.ecs.region: "Frankfurt" must be an AWS region'],
    ["sandboxApiPort", 3000, "config.ecs.sandboxApiPort: 3000 is already network.relayPort: pick another port"],
    ["sandboxApiPort", 4000, "config.ecs.sandboxApiPort: 4000 is already network.llmGatewayPort: pick another port"],
    ["taskPollIntervalMs", 5, "config.ecs.taskPollIntervalMs: 5 "],
  ])("GIVEN ecs.%s = %j THEN it is refused with the field and what is expected", (field, value, expected) => {
    expect(messageOf(ecsDocument({ [field]: value }))).toContain(expected);
  });

  it("GIVEN an unknown field in the section THEN its name is printed", () => {
    expect(messageOf(ecsDocument({ capacityProvider: "FARGATE_SPOT" }))).toContain('config.ecs: unknown field "capacityProvider"');
  });

  it("GIVEN a short sandbox API key secret THEN it is refused without being printed (users' keys would be guessable)", () => {
    const message = messageOf(ecsDocument({ sandboxApiKeySecret: "short-secret-value" }));
    expect(message).toContain("config.ecs.sandboxApiKeySecret: (18 characters, not shown) is too short: at least 32 characters");
    expect(message).not.toContain("short-secret-value");
  });

  it("GIVEN a bad value next to an inline sandbox secret THEN the secret is not printed", () => {
    const message = messageOf(ecsDocument({ sandboxApiKeySecret: 42 }));
    expect(message).toContain("config.ecs.sandboxApiKeySecret: [redacted]");
    expect(message).not.toContain("42");
  });
});
