/**
 * `ecs.userResources` (docs/ecs.md, section 4): the names the infra's `ecs` output gives the spawner for each user's
 * access points, database secret and sandbox role. Optional in the document (ECS mode's other pieces parse without it),
 * required by EcsUserResources; every bad value is refused with the field and what is expected. No AWS call is made.
 */
import { EFSClient } from "@aws-sdk/client-efs";
import { IAMClient } from "@aws-sdk/client-iam";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { ConfigError, parseConfig } from "../src/config";
import { EcsUserResources } from "../src/ecs/user-resources";
import {
  accessPointToken,
  MAX_ROLE_NAME_LENGTH,
  sandboxRoleName,
  appAccessPolicy,
  appRoleName,
  secretVersionToken,
  type UserResourceNaming,
} from "../src/ecs/user-resources-names";
import { createLogger } from "../src/log";
import { user } from "./helpers/harness";
import { minimalConfigDocument } from "./helpers/minimal-config";

const BOUNDARY = "arn:aws:iam::123456789012:policy/openhands-prod-sandbox-boundary";

const document = (userResources?: Record<string, unknown>) => ({
  ...minimalConfigDocument(),
  backend: "ecs",
  ecs: {
    cluster: "openhands",
    subnets: ["subnet-0a1b2c3d4e5f60718"],
    appSecurityGroup: "sg-0123456789abcdef0",
    sandboxSecurityGroup: "sg-0123456789abcdef1",
    executionRoleArn: "arn:aws:iam::123456789012:role/openhands-prod-task-execution",
    efsFileSystemId: "fs-0123456789abcdef0",
    hostPrivateAddress: "10.0.1.17",
    sandboxApiKeySecret: "sandbox-api-key-secret-0123456789abcdef",
    sandboxDomain: "sandboxes.openhands.internal",
    ...(userResources ? { userResources } : {}),
  },
});

const APP_BOUNDARY = "arn:aws:iam::123456789012:policy/openhands-prod-app-boundary";
const valid = {
  deployment: "openhands-prod",
  sandboxRoleBoundaryArn: BOUNDARY,
  appRoleBoundaryArn: APP_BOUNDARY,
  userSecretPrefix: "openhands/prod/users/",
};

function messageOf(input: unknown): string {
  try {
    parseConfig(input);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("the configuration was accepted");
}

const clients = () => ({
  efs: new EFSClient({ region: "eu-central-1" }),
  iam: new IAMClient({ region: "eu-central-1" }),
  secrets: new SecretsManagerClient({ region: "eu-central-1" }),
});

describe("ecs.userResources", () => {
  it("GIVEN the infra's names THEN they parse, with the role paths, access point wait and role settle time defaulted", () => {
    const ecs = parseConfig(document(valid)).ecs!;
    expect(ecs.userResources).toEqual({
      ...valid,
      sandboxRolePath: "/oh-sandbox/",
      appRolePath: "/oh-app/",
      accessPointWaitMs: 60_000,
      roleSettleMs: 10_000,
    });
  });

  it("GIVEN no userResources THEN ECS mode still parses, and EcsUserResources refuses to start, naming the field", () => {
    const config = parseConfig(document());
    expect(config.ecs!.userResources).toBeUndefined();
    const build = () =>
      new EcsUserResources({
        config,
        ecs: config.ecs!,
        ...clients(),
        log: createLogger({ write: () => undefined }),
        database: () => ({ host: "h", port: 5432, database: "d", user: "u", password: "p" }),
      });
    expect(build).toThrow(ConfigError);
    expect(build).toThrow(/^config\.ecs\.userResources: missing is required to serve users in ECS mode/);
  });

  it.each([
    [{ deployment: "OpenHands-Prod" }, "config.ecs.userResources.deployment"],
    [{ deployment: `a${"b".repeat(40)}` }, "config.ecs.userResources.deployment"],
    [{ sandboxRoleBoundaryArn: "arn:aws:iam::123456789012:role/boundary" }, "config.ecs.userResources.sandboxRoleBoundaryArn"],
    [{ sandboxRolePath: "oh-sandbox" }, "config.ecs.userResources.sandboxRolePath"],
    [{ appRoleBoundaryArn: "arn:aws:iam::123456789012:role/boundary" }, "config.ecs.userResources.appRoleBoundaryArn"],
    [{ appRoleBoundaryArn: undefined }, "config.ecs.userResources.appRoleBoundaryArn"],
    [{ appRolePath: "/oh app/" }, "config.ecs.userResources.appRolePath"],
    [{ userSecretPrefix: "openhands/prod/users" }, "config.ecs.userResources.userSecretPrefix"],
    [{ userSecretPrefix: "openhands prod/" }, "config.ecs.userResources.userSecretPrefix"],
    [{ endpoints: { iam: "ftp://iam" } }, "config.ecs.userResources.endpoints.iam"],
    [{ accessPointWaitMs: 10 }, "config.ecs.userResources.accessPointWaitMs"],
    [{ roleTags: true }, 'config.ecs.userResources: unknown field "roleTags"'],
  ])("GIVEN %j THEN it is refused by field", (change, field) => {
    expect(messageOf(document({ ...valid, ...change }))).toContain(field);
  });

  it.each([
    "sandboxRoleBoundaryArn",
    "appRoleBoundaryArn",
  ])("GIVEN a %s in another account than the execution role THEN it is refused (IAM could not attach it)", (field) => {
    const message = messageOf(document({ ...valid, [field]: "arn:aws:iam::999999999999:policy/boundary" }));
    expect(message).toContain(`config.ecs.userResources.${field}`);
    expect(message).toContain("is in account 999999999999, the execution role in 123456789012");
  });
});

describe("user resource names", () => {
  const naming = (deployment: string): UserResourceNaming => ({
    deployment,
    region: "eu-central-1",
    fileSystemId: "fs-0123456789abcdef0",
    sandboxRolePath: "/oh-sandbox/",
    appRolePath: "/oh-app/",
    userSecretPrefix: "openhands/prod/users/",
    sandboxRoleBoundaryArn: BOUNDARY,
    eventsBucket: "oh-events",
    workspaceUid: 10001,
  });
  const slug = user(1).slug;

  it("GIVEN the longest deployment the schema allows THEN the sandbox and app role names still fit IAM's 64 characters", () => {
    for (const roleName of [sandboxRoleName, appRoleName]) {
      const name = roleName(naming(`a${"b".repeat(38)}c`), slug);
      expect(name).toHaveLength(MAX_ROLE_NAME_LENGTH);
      expect(() => roleName(naming(`a${"b".repeat(39)}c`), slug)).toThrow(/longer than IAM's 64 characters/);
    }
    expect(appRoleName(naming("openhands-prod"), slug)).toBe(`oh-app-openhands-prod-${slug}`);
  });

  it("GIVEN a user THEN the app role's policy opens only their events prefix and their app access point", () => {
    const point = "arn:aws:elasticfilesystem:eu-central-1:123456789012:access-point/fsap-0123456789abcdef0";
    const policy = JSON.parse(appAccessPolicy(naming("openhands-prod"), slug, point));
    expect(policy.Statement).toEqual([
      expect.objectContaining({ Resource: `arn:aws:s3:::oh-events/users/${slug}/*` }),
      expect.objectContaining({ Resource: "arn:aws:s3:::oh-events", Condition: { StringLike: { "s3:prefix": [`users/${slug}/*`] } } }),
      expect.objectContaining({
        Resource: "arn:aws:elasticfilesystem:eu-central-1:123456789012:file-system/fs-0123456789abcdef0",
        Condition: { StringEquals: { "elasticfilesystem:AccessPointArn": point } },
      }),
    ]);
    // Path traversal into another user's prefix: a bad slug makes no policy.
    expect(() => appAccessPolicy(naming("openhands-prod"), "../other", point)).toThrow(/not a user slug/);
  });

  it("GIVEN two users, two purposes or two deployments THEN the access point tokens differ, and fit EFS's 64 characters", () => {
    const tokens = [
      accessPointToken(naming("openhands-prod"), slug, "app"),
      accessPointToken(naming("openhands-prod"), slug, "workspace"),
      accessPointToken(naming("openhands-prod"), user(2).slug, "app"),
      accessPointToken(naming("openhands-test"), slug, "app"),
    ];
    expect(new Set(tokens).size).toBe(4);
    for (const token of tokens) expect(token.length).toBeLessThanOrEqual(64);
    expect(accessPointToken(naming("openhands-prod"), slug, "app")).toBe(tokens[0]);
  });

  it("GIVEN a value and the version before THEN the version ID is a UUID-shaped token that depends on both", () => {
    const first = secretVersionToken("p1");
    expect(first).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(secretVersionToken("p1")).toBe(first);
    expect(secretVersionToken("p2")).not.toBe(first);
    expect(secretVersionToken("p1", first)).not.toBe(first);
  });

  it("GIVEN a bad slug THEN no name is made from it", () => {
    expect(() => sandboxRoleName(naming("openhands-prod"), "../x")).toThrow(/not a user slug/);
    expect(() => accessPointToken(naming("openhands-prod"), "A".repeat(16), "app")).toThrow(/not a user slug/);
  });
});
