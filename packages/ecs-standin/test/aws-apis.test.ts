/**
 * The stand-in's EFS, IAM and Secrets Manager APIs, called over HTTP the way the AWS SDKs call them (REST-JSON, query
 * protocol with XML answers, JSON 1.1), with the errors each API reference lists. None of these services can run here;
 * no engine is needed either (no task runs in this file: mounts through these resources are tested in
 * test/iam-mounts.test.ts).
 */
import { EcsStandIn, evaluateRole } from "../src";
import { ecsTasksTrust, efsCall, iamCall, mountPolicy as mountPolicyOf, secretsCall, xmlText } from "./aws-support";

const FILE_SYSTEM = "fs-0123456789abcdef0";
const BOUNDARY = "arn:aws:iam::123456789012:policy/openhands-prod-sandbox-boundary";
const FS_ARN = `arn:aws:elasticfilesystem:eu-central-1:123456789012:file-system/${FILE_SYSTEM}`;
const boundaryDocument = JSON.stringify({
  Version: "2012-10-17",
  Statement: [
    {
      Effect: "Allow",
      Action: ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
      Resource: FS_ARN,
      Condition: { Bool: { "elasticfilesystem:AccessedViaMountTarget": "true" } },
    },
  ],
});
const trust = ecsTasksTrust;
const mountPolicy = (accessPointArn: string, actions?: string[]) => mountPolicyOf(FS_ARN, accessPointArn, actions);

let standIn: EcsStandIn;

beforeAll(async () => {
  // No subnets: no Docker network is made, so no engine is needed.
  standIn = await EcsStandIn.start({
    socketPath: "/nonexistent/docker.sock",
    subnets: [],
    pause: { image: "unused", command: ["unused"] },
    efs: { fileSystems: { [FILE_SYSTEM]: { path: "/nonexistent/efs", requireIam: true } }, accessPoints: {} },
    iam: { policies: { [BOUNDARY]: boundaryDocument } },
    accessPointReadyMs: 150,
  });
});

afterAll(async () => {
  await standIn?.close();
});

const efs = (method: string, path: string, body?: unknown, signed = true) => efsCall(standIn.endpoint, method, path, body, signed);
const iam = (params: Record<string, string>) => iamCall(standIn.endpoint, params);
const tag = xmlText;
const secrets = (operation: string, body: unknown) => secretsCall(standIn.endpoint, operation, body);

const workspace = (slug: string, token: string) => ({
  ClientToken: token,
  FileSystemId: FILE_SYSTEM,
  PosixUser: { Uid: 10001, Gid: 10001 },
  RootDirectory: { Path: `/users/${slug}/workspace`, CreationInfo: { OwnerUid: 10001, OwnerGid: 10001, Permissions: "0750" } },
  Tags: [
    { Key: "Name", Value: `workspace-${slug}` },
    { Key: "openhands-team:user", Value: slug },
  ],
});

describe("EFS access points (REST-JSON)", () => {
  test("CreateAccessPoint answers `creating`, then DescribeAccessPoints shows it `available` with what was asked", async () => {
    const created = await efs("POST", "access-points", workspace("aaaaaaaaaaaaaaaa", "token-a"));
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({
      ClientToken: "token-a",
      Name: "workspace-aaaaaaaaaaaaaaaa",
      FileSystemId: FILE_SYSTEM,
      PosixUser: { Uid: 10001, Gid: 10001 },
      RootDirectory: { Path: "/users/aaaaaaaaaaaaaaaa/workspace", CreationInfo: { OwnerUid: 10001, OwnerGid: 10001, Permissions: "0750" } },
      OwnerId: "123456789012",
      LifeCycleState: "creating",
    });
    expect(created.body.AccessPointId).toMatch(/^fsap-[0-9a-f]{17}$/);
    expect(created.body.AccessPointArn).toBe(
      `arn:aws:elasticfilesystem:eu-central-1:123456789012:access-point/${created.body.AccessPointId}`,
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    const byId = await efs("GET", `access-points?AccessPointId=${created.body.AccessPointId}`);
    expect(byId.body.AccessPoints).toHaveLength(1);
    expect(byId.body.AccessPoints[0].LifeCycleState).toBe("available");
  });

  test("a repeated ClientToken is AccessPointAlreadyExists (409) with the existing AccessPointId, whatever the parameters", async () => {
    const first = await efs("POST", "access-points", workspace("bbbbbbbbbbbbbbbb", "token-b"));
    const same = await efs("POST", "access-points", workspace("bbbbbbbbbbbbbbbb", "token-b"));
    const other = await efs("POST", "access-points", workspace("cccccccccccccccc", "token-b"));
    for (const answer of [same, other]) {
      expect(answer.status).toBe(409);
      expect(answer.type).toBe("AccessPointAlreadyExists");
      expect(answer.body).toMatchObject({ ErrorCode: "AccessPointAlreadyExists", AccessPointId: first.body.AccessPointId });
    }
  });

  test("DescribeAccessPoints pages by FileSystemId, refuses both IDs or neither, and names unknown ones", async () => {
    const all = await efs("GET", `access-points?FileSystemId=${FILE_SYSTEM}`);
    expect(all.body.AccessPoints.length).toBeGreaterThanOrEqual(2);
    const first = await efs("GET", `access-points?FileSystemId=${FILE_SYSTEM}&MaxResults=1`);
    expect(first.body.AccessPoints).toHaveLength(1);
    const second = await efs("GET", `access-points?FileSystemId=${FILE_SYSTEM}&MaxResults=1&NextToken=${first.body.NextToken}`);
    expect(second.body.AccessPoints[0].AccessPointId).not.toBe(first.body.AccessPoints[0].AccessPointId);

    const both = await efs("GET", `access-points?FileSystemId=${FILE_SYSTEM}&AccessPointId=fsap-0123456789abcdef0`);
    expect([both.status, both.type]).toEqual([400, "BadRequest"]);
    expect((await efs("GET", "access-points")).type).toBe("BadRequest");
    const missingPoint = await efs("GET", "access-points?AccessPointId=fsap-0123456789abcdef0");
    expect([missingPoint.status, missingPoint.type]).toEqual([404, "AccessPointNotFound"]);
    const missingFs = await efs("GET", "access-points?FileSystemId=fs-0fffffffffffffff0");
    expect([missingFs.status, missingFs.type]).toEqual([404, "FileSystemNotFound"]);
  });

  test("invalid parameters are BadRequest: a fifth path level, a mode that is not octal, a reserved tag, no ClientToken", async () => {
    const cases = [
      { ...workspace("dddddddddddddddd", "t1"), RootDirectory: { Path: "/a/b/c/d/e" } },
      {
        ...workspace("dddddddddddddddd", "t2"),
        RootDirectory: { Path: "/a", CreationInfo: { OwnerUid: 0, OwnerGid: 0, Permissions: "999" } },
      },
      { ...workspace("dddddddddddddddd", "t3"), Tags: [{ Key: "aws:owner", Value: "x" }] },
      { ...workspace("dddddddddddddddd", "t4"), ClientToken: undefined },
      { ...workspace("dddddddddddddddd", "t5"), PosixUser: { Uid: -1, Gid: 0 } },
    ];
    for (const request of cases) {
      const answer = await efs("POST", "access-points", request);
      expect([answer.status, answer.type]).toEqual([400, "BadRequest"]);
    }
    const unknown = await efs("POST", "access-points", { ...workspace("dddddddddddddddd", "t6"), FileSystemId: "fs-0fffffffffffffff0" });
    expect([unknown.status, unknown.type]).toEqual([404, "FileSystemNotFound"]);
  });

  test("DeleteAccessPoint answers 204, then AccessPointNotFound; TagResource adds tags; unsigned calls and faults refused", async () => {
    const created = await efs("POST", "access-points", workspace("eeeeeeeeeeeeeeee", "token-e"));
    const id = created.body.AccessPointId;
    expect((await efs("POST", `resource-tags/${id}`, { Tags: [{ Key: "team", Value: "x" }] })).status).toBe(200);
    expect(standIn.efs.accessPoint(id)?.Tags).toContainEqual({ Key: "team", Value: "x" });
    expect((await efs("DELETE", `access-points/${id}`)).status).toBe(204);
    const again = await efs("DELETE", `access-points/${id}`);
    expect([again.status, again.type]).toEqual([404, "AccessPointNotFound"]);
    expect(standIn.efs.accessPoint(id)).toBeUndefined();

    expect((await efs("GET", `access-points?FileSystemId=${FILE_SYSTEM}`, undefined, false)).status).toBe(403);
    standIn.efs.failNext("DescribeAccessPoints", "ThrottlingException");
    const throttled = await efs("GET", `access-points?FileSystemId=${FILE_SYSTEM}`);
    expect([throttled.status, throttled.type]).toEqual([429, "ThrottlingException"]);
  });
});

describe("IAM roles (query protocol, XML)", () => {
  test("CreateRole with a path and a permissions boundary; GetRole answers it; the name is taken whatever its case", async () => {
    const created = await iam({
      Action: "CreateRole",
      RoleName: "oh-sbx-openhands-prod-aaaaaaaaaaaaaaaa",
      Path: "/oh-sandbox/",
      AssumeRolePolicyDocument: trust(),
      PermissionsBoundary: BOUNDARY,
    });
    expect(created.status).toBe(200);
    expect(created.xml).toContain('<CreateRoleResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><CreateRoleResult><Role>');
    expect(tag(created.xml, "Arn")).toBe("arn:aws:iam::123456789012:role/oh-sandbox/oh-sbx-openhands-prod-aaaaaaaaaaaaaaaa");
    expect(tag(created.xml, "PermissionsBoundaryArn")).toBe(BOUNDARY);
    expect(decodeURIComponent(tag(created.xml, "AssumeRolePolicyDocument") ?? "")).toBe(trust());
    const got = await iam({ Action: "GetRole", RoleName: "oh-sbx-openhands-prod-aaaaaaaaaaaaaaaa" });
    expect(tag(got.xml, "Path")).toBe("/oh-sandbox/");
    const duplicate = await iam({
      Action: "CreateRole",
      RoleName: "OH-SBX-openhands-prod-aaaaaaaaaaaaaaaa",
      AssumeRolePolicyDocument: trust(),
    });
    expect([duplicate.status, duplicate.code]).toEqual([409, "EntityAlreadyExists"]);
  });

  test("CreateRole refuses a name over 64 characters, a bad path, an unknown boundary and a trust policy that is not JSON", async () => {
    const base = { Action: "CreateRole", RoleName: "r1", AssumeRolePolicyDocument: trust() };
    expect((await iam({ ...base, RoleName: "x".repeat(65) })).code).toBe("ValidationError");
    expect((await iam({ ...base, Path: "oh-sandbox" })).code).toBe("ValidationError");
    const boundary = await iam({ ...base, PermissionsBoundary: "arn:aws:iam::123456789012:policy/nope" });
    expect([boundary.status, boundary.code]).toEqual([404, "NoSuchEntity"]);
    expect((await iam({ ...base, AssumeRolePolicyDocument: "{not json" })).code).toBe("MalformedPolicyDocument");
    const missing = await iam({ Action: "GetRole", RoleName: "r1" });
    expect([missing.status, missing.code]).toEqual([404, "NoSuchEntity"]);
    expect((await iam({ Action: "ListRoles" })).code).toBe("InvalidAction");
  });

  test("inline policies: put, read back URL-encoded, list; DeleteRole is DeleteConflict until they are gone", async () => {
    await iam({
      Action: "CreateRole",
      RoleName: "r2",
      Path: "/oh-sandbox/",
      AssumeRolePolicyDocument: trust(),
      PermissionsBoundary: BOUNDARY,
    });
    const principal = JSON.stringify({ Statement: [{ Effect: "Allow", Principal: "*", Action: "s3:*", Resource: "*" }] });
    expect((await iam({ Action: "PutRolePolicy", RoleName: "r2", PolicyName: "p", PolicyDocument: principal })).code).toBe(
      "MalformedPolicyDocument",
    );
    const document = mountPolicy("arn:aws:elasticfilesystem:eu-central-1:123456789012:access-point/fsap-0123456789abcdef0");
    expect((await iam({ Action: "PutRolePolicy", RoleName: "r2", PolicyName: "workspace-mount", PolicyDocument: document })).status).toBe(
      200,
    );
    const read = await iam({ Action: "GetRolePolicy", RoleName: "r2", PolicyName: "workspace-mount" });
    expect(decodeURIComponent(tag(read.xml, "PolicyDocument") ?? "")).toBe(document);
    expect((await iam({ Action: "ListRolePolicies", RoleName: "r2" })).xml).toContain(
      "<PolicyNames><member>workspace-mount</member></PolicyNames>",
    );
    const conflict = await iam({ Action: "DeleteRole", RoleName: "r2" });
    expect([conflict.status, conflict.code]).toEqual([409, "DeleteConflict"]);
    expect((await iam({ Action: "DeleteRolePolicy", RoleName: "r2", PolicyName: "workspace-mount" })).status).toBe(200);
    expect((await iam({ Action: "DeleteRolePolicy", RoleName: "r2", PolicyName: "workspace-mount" })).code).toBe("NoSuchEntity");
    expect((await iam({ Action: "DeleteRole", RoleName: "r2" })).status).toBe(200);
    expect((await iam({ Action: "GetRole", RoleName: "r2" })).code).toBe("NoSuchEntity");
  });

  test("a role's EFS access: its AccessPointArn condition, its boundary, an explicit deny; ECS may assume it only as trusted", async () => {
    const apA = "arn:aws:elasticfilesystem:eu-central-1:123456789012:access-point/fsap-0000000000000000a";
    const apB = "arn:aws:elasticfilesystem:eu-central-1:123456789012:access-point/fsap-0000000000000000b";
    await iam({
      Action: "CreateRole",
      RoleName: "r3",
      Path: "/oh-sandbox/",
      AssumeRolePolicyDocument: trust(),
      PermissionsBoundary: BOUNDARY,
    });
    await iam({ Action: "PutRolePolicy", RoleName: "r3", PolicyName: "m", PolicyDocument: mountPolicy(apA) });
    const arn = "arn:aws:iam::123456789012:role/oh-sandbox/r3";
    const context = (ap: string) => ({ "elasticfilesystem:AccessPointArn": ap, "elasticfilesystem:AccessedViaMountTarget": "true" });
    expect(standIn.iam.decide(arn, "elasticfilesystem:ClientMount", FS_ARN, context(apA))).toBe("allow");
    expect(standIn.iam.decide(arn, "elasticfilesystem:ClientMount", FS_ARN, context(apB))).toBe("implicit-deny");
    expect(standIn.iam.decide(arn, "elasticfilesystem:ClientMount", FS_ARN, { "elasticfilesystem:AccessPointArn": apA })).toBe(
      "implicit-deny",
    );
    // The boundary caps what an inline policy grants: root access is allowed inline but not by the boundary.
    await iam({ Action: "PutRolePolicy", RoleName: "r3", PolicyName: "root", PolicyDocument: mountPolicy(apA, ["elasticfilesystem:*"]) });
    expect(standIn.iam.decide(arn, "elasticfilesystem:ClientRootAccess", FS_ARN, context(apA))).toBe("implicit-deny");
    const deny = JSON.stringify({ Statement: [{ Effect: "Deny", Action: "elasticfilesystem:ClientWrite", Resource: "*" }] });
    await iam({ Action: "PutRolePolicy", RoleName: "r3", PolicyName: "deny", PolicyDocument: deny });
    expect(standIn.iam.decide(arn, "elasticfilesystem:ClientWrite", FS_ARN, context(apA))).toBe("explicit-deny");
    expect(standIn.iam.decide("arn:aws:iam::123456789012:role/nobody", "elasticfilesystem:ClientMount", FS_ARN, context(apA))).toBe(
      "implicit-deny",
    );

    const task = "arn:aws:ecs:eu-central-1:123456789012:task/openhands/0123";
    expect(standIn.iam.ecsMayAssume(arn, task)).toBe(true);
    await iam({ Action: "CreateRole", RoleName: "r4", AssumeRolePolicyDocument: trust("999999999999") });
    expect(standIn.iam.ecsMayAssume("arn:aws:iam::123456789012:role/r4", task)).toBe(false);
  });

  test("policy evaluation: an operator it does not evaluate never grants, and makes a Deny apply", () => {
    const request = { action: "s3:GetObject", resource: "arn:aws:s3:::b/k", context: { "aws:sourceip": "10.0.0.1" } };
    const allow = JSON.stringify({
      Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "*", Condition: { IpAddress: { "aws:SourceIp": "10.0.0.0/8" } } }],
    });
    const deny = JSON.stringify({
      Statement: [{ Effect: "Deny", Action: "s3:*", Resource: "*", Condition: { IpAddress: { "aws:SourceIp": "192.0.2.0/24" } } }],
    });
    const plain = JSON.stringify({ Statement: [{ Effect: "Allow", Action: "s3:Get*", Resource: "arn:aws:s3:::b/*" }] });
    expect(evaluateRole([allow], undefined, request)).toBe("implicit-deny");
    expect(evaluateRole([plain], undefined, request)).toBe("allow");
    expect(evaluateRole([plain, deny], undefined, request)).toBe("explicit-deny");
  });
});

describe("Secrets Manager (JSON 1.1)", () => {
  const name = "openhands/prod/users/aaaaaaaaaaaaaaaa/database";
  const token = (n: number) => `00000000-0000-4000-8000-00000000000${n}`;

  test("CreateSecret, DescribeSecret, GetSecretValue; a second CreateSecret is ResourceExistsException", async () => {
    const created = await secrets("CreateSecret", { Name: name, SecretString: "first", ClientRequestToken: token(1) });
    expect(created.status).toBe(200);
    expect(created.body.ARN).toMatch(new RegExp(`^arn:aws:secretsmanager:eu-central-1:123456789012:secret:${name}-[A-Za-z]{6}$`));
    expect(created.body.VersionId).toBe(token(1));
    const described = await secrets("DescribeSecret", { SecretId: name });
    expect(described.body.VersionIdsToStages).toEqual({ [token(1)]: ["AWSCURRENT"] });
    expect((await secrets("GetSecretValue", { SecretId: created.body.ARN })).body.SecretString).toBe("first");
    const again = await secrets("CreateSecret", { Name: name, SecretString: "other" });
    expect([again.status, again.body.__type]).toEqual([400, "ResourceExistsException"]);
  });

  test("PutSecretValue: same token and value change nothing, another value under it is refused, a new token moves AWSCURRENT", async () => {
    expect((await secrets("PutSecretValue", { SecretId: name, SecretString: "first", ClientRequestToken: token(1) })).status).toBe(200);
    expect(standIn.secretsManager.secret(name)?.versions).toHaveLength(1);
    const changed = await secrets("PutSecretValue", { SecretId: name, SecretString: "changed", ClientRequestToken: token(1) });
    expect(changed.body.__type).toBe("ResourceExistsException");
    await secrets("PutSecretValue", { SecretId: name, SecretString: "second", ClientRequestToken: token(2) });
    const described = await secrets("DescribeSecret", { SecretId: name });
    expect(described.body.VersionIdsToStages).toEqual({ [token(1)]: ["AWSPREVIOUS"], [token(2)]: ["AWSCURRENT"] });
    expect((await secrets("GetSecretValue", { SecretId: name })).body.SecretString).toBe("second");
    expect((await secrets("PutSecretValue", { SecretId: name, SecretString: "x", ClientRequestToken: "short" })).body.__type).toBe(
      "InvalidParameterException",
    );
  });

  test("DeleteSecret: a recovery window leaves it described but unusable; forced, it is gone (ResourceNotFoundException)", async () => {
    const both = await secrets("DeleteSecret", { SecretId: name, ForceDeleteWithoutRecovery: true, RecoveryWindowInDays: 7 });
    expect(both.body.__type).toBe("InvalidParameterException");
    expect((await secrets("DeleteSecret", { SecretId: name, RecoveryWindowInDays: 7 })).status).toBe(200);
    expect((await secrets("DescribeSecret", { SecretId: name })).body.DeletedDate).toEqual(expect.any(Number));
    expect((await secrets("GetSecretValue", { SecretId: name })).body.__type).toBe("InvalidRequestException");
    expect((await secrets("CreateSecret", { Name: name, SecretString: "x" })).body.__type).toBe("InvalidRequestException");
    expect((await secrets("DeleteSecret", { SecretId: name, ForceDeleteWithoutRecovery: true })).status).toBe(200);
    const gone = await secrets("DescribeSecret", { SecretId: name });
    expect([gone.status, gone.body.__type]).toEqual([400, "ResourceNotFoundException"]);
    expect((await secrets("CreateSecret", { Name: "bad name!", SecretString: "x" })).body.__type).toBe("InvalidParameterException");
    standIn.secretsManager.failNext("DescribeSecret", "InternalServiceError");
    expect((await secrets("DescribeSecret", { SecretId: name })).status).toBe(500);
  });
});
