/**
 * ECS mode's per-user resources (src/ecs/user-resources.ts) against @openhands-team/ecs-standin. EFS, IAM, Secrets
 * Manager and ECS cannot run here (no AWS account is reachable): the stand-in answers their documented requests and
 * errors through the AWS SDK on loopback, and runs tasks as real containers on docker-lab's engine, mounting the access
 * points and resolving the secrets made through its APIs, and evaluating task roles' trust and EFS mount policies (with
 * the permissions boundary) as IAM would. So the test shows, with real task starts, that one user's sandbox role cannot
 * mount another user's workspace while it can mount its own.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DescribeTasksCommand,
  type ECSClient,
  RegisterTaskDefinitionCommand,
  type RegisterTaskDefinitionCommandInput,
  RunTaskCommand,
  type Task,
} from "@aws-sdk/client-ecs";
import { type AccessPointDescription, DescribeAccessPointsCommand } from "@aws-sdk/client-efs";
import { GetRoleCommand, GetRolePolicyCommand } from "@aws-sdk/client-iam";
import { CreateSecretCommand, DescribeSecretCommand, GetSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { describeWithEngine, ensureImage, labEngine, STAND_IN } from "@openhands-team/docker-lab";
import { EcsStandIn } from "@openhands-team/ecs-standin";
import { type EcsConfig, parseConfig, type SpawnerConfig } from "../src/config";
import { userDatabasePassword } from "../src/database";
import { ecsClient } from "../src/ecs/client";
import { EcsUserResources } from "../src/ecs/user-resources";
import { type UserResourceClients, UserResourceError, userResourceClients } from "../src/ecs/user-resources-clients";
import { createLogger } from "../src/log";
import { user } from "./helpers/harness";
import { minimalConfigAppSecret, minimalConfigDocument } from "./helpers/minimal-config";

jest.setTimeout(60_000);

const SUBNET = { id: "subnet-0a1b2c3d4e5f60719", cidr: "10.251.9.0/24", availabilityZone: "eu-central-1b" };
const SECURITY_GROUP = "sg-0123456789abcdef0";
const CLUSTER = "openhands";
const FILE_SYSTEM = "fs-0123456789abcdef0";
const ACCOUNT = "123456789012";
const FS_ARN = `arn:aws:elasticfilesystem:eu-central-1:${ACCOUNT}:file-system/${FILE_SYSTEM}`;
const BOUNDARY = `arn:aws:iam::${ACCOUNT}:policy/openhands-test-sandbox-boundary`;
const APP_BOUNDARY = `arn:aws:iam::${ACCOUNT}:policy/openhands-test-app-boundary`;
const EXECUTION_ROLE = `arn:aws:iam::${ACCOUNT}:role/openhands-test-task-execution`;
const DEPLOYMENT = "openhands-test";
const CREDENTIALS = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "stand-in-does-not-check" };
/** The infra's boundary (apps/infra task-roles.ts): the two EFS client actions on the file system, through a mount target. */
const BOUNDARY_DOCUMENT = JSON.stringify({
  Version: "2012-10-17",
  Statement: [
    {
      Sid: "WorkspaceMountOnly",
      Effect: "Allow",
      Action: ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
      Resource: FS_ARN,
      Condition: { Bool: { "elasticfilesystem:AccessedViaMountTarget": "true" } },
    },
  ],
});

/** The infra's app boundary (apps/infra task-roles.ts): events under users/, EFS client actions through a mount target. */
const APP_BOUNDARY_DOCUMENT = JSON.stringify({
  Version: "2012-10-17",
  Statement: [
    { Effect: "Allow", Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], Resource: "arn:aws:s3:::oh-events/users/*" },
    {
      Effect: "Allow",
      Action: "s3:ListBucket",
      Resource: "arn:aws:s3:::oh-events",
      Condition: { StringLike: { "s3:prefix": ["users/*"] } },
    },
    {
      Effect: "Allow",
      Action: ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite", "elasticfilesystem:ClientRootAccess"],
      Resource: FS_ARN,
      Condition: { Bool: { "elasticfilesystem:AccessedViaMountTarget": "true" }, Null: { "elasticfilesystem:AccessPointArn": "false" } },
    },
  ],
});

const [alice, bob, carol, dave, erin, frank, grace, heidi] = [91, 92, 93, 94, 95, 96, 101, 102].map((n) => user(n).slug) as [
  string,
  string,
  string,
  string,
  string,
  string,
  string,
  string,
];
/** IAM's propagation delay as the stand-in models it, and the spawner's wait for it. */
const PROPAGATION_MS = 2_000;
const ROLE_SETTLE_MS = 2_200;
const quiet = createLogger({ level: "error", write: () => undefined });

describeWithEngine("ECS user resources: access points, database secret and sandbox role through the stand-in's AWS APIs", () => {
  let standIn: EcsStandIn;
  let efsRoot: string;
  let config: SpawnerConfig;
  let ecs: EcsConfig;
  let clients: UserResourceClients;
  let ecsApi: ECSClient;
  /** Calls made by the test's own set-up, left out of the counts. */
  let setUpCalls = 0;

  const password = (slug: string) => userDatabasePassword(config.secrets.dbPasswordKey, slug);
  /** The user's app secret (a JSON object) with this database password. */
  const appSecret = (slug: string, databasePassword = password(slug)) =>
    minimalConfigAppSecret(slug, databasePassword, config.ecs!.sandboxApiKeySecret);
  const resources = (userResources: Partial<NonNullable<EcsConfig["userResources"]>> = {}) =>
    new EcsUserResources({
      config,
      ecs: { ...ecs, userResources: { ...ecs.userResources!, ...userResources } },
      ...clients,
      log: quiet,
      database: (slug) => ({ host: "db.internal", port: 5432, database: `oh_${slug}`, user: `oh_${slug}`, password: password(slug) }),
      pollIntervalMs: 100,
    });
  /** Calls of the EFS, IAM and Secrets Manager APIs answered so far, by operation (optionally only successful ones). */
  const count = (operation: string, ok = true) =>
    standIn.calls.slice(setUpCalls).filter((call) => call.service && call.operation === operation && (!ok || call.status < 300)).length;
  const creations = () => ["CreateAccessPoint", "CreateSecret", "PutSecretValue", "CreateRole"].map((op) => count(op));
  const accessPoints = async (): Promise<AccessPointDescription[]> =>
    (await clients.efs.send(new DescribeAccessPointsCommand({ FileSystemId: FILE_SYSTEM }))).AccessPoints ?? [];
  const ofUser = async (slug: string) =>
    (await accessPoints()).filter((ap) => ap.Tags?.some((tag) => tag.Key === "openhands-team:user" && tag.Value === slug));

  beforeAll(async () => {
    await ensureImage(STAND_IN.node);
    efsRoot = mkdtempSync(join(tmpdir(), "ecs-user-resources-efs-"));
    standIn = await EcsStandIn.start({
      socketPath: labEngine()!.socketPath,
      clusters: [CLUSTER],
      subnets: [SUBNET],
      securityGroups: [SECURITY_GROUP],
      pause: {
        image: STAND_IN.node,
        command: ["node", "-e", "process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1 << 30)"],
      },
      efs: { fileSystems: { [FILE_SYSTEM]: { path: efsRoot, requireIam: true } }, accessPoints: {} },
      iam: { policies: { [BOUNDARY]: BOUNDARY_DOCUMENT, [APP_BOUNDARY]: APP_BOUNDARY_DOCUMENT }, propagationMs: PROPAGATION_MS },
      accessPointReadyMs: 300,
    });
    config = parseConfig({
      ...minimalConfigDocument({ dbPasswordKey: "db-password-key-of-the-test" }),
      backend: "ecs",
      ecs: {
        endpoint: standIn.endpoint,
        cluster: CLUSTER,
        subnets: [SUBNET.id],
        appSecurityGroup: SECURITY_GROUP,
        sandboxSecurityGroup: SECURITY_GROUP,
        executionRoleArn: EXECUTION_ROLE,
        efsFileSystemId: FILE_SYSTEM,
        hostPrivateAddress: "10.251.9.1",
        sandboxApiKeySecret: "sandbox-api-key-secret-for-the-tests-0123456789",
        sandboxDomain: "sandboxes.openhands.internal",
        userResources: {
          deployment: DEPLOYMENT,
          sandboxRoleBoundaryArn: BOUNDARY,
          appRoleBoundaryArn: APP_BOUNDARY,
          userSecretPrefix: "openhands/test/users/",
          endpoints: { efs: standIn.endpoint, iam: standIn.endpoint, secretsManager: standIn.endpoint },
          roleSettleMs: ROLE_SETTLE_MS,
        },
      },
    });
    ecs = config.ecs!;
    clients = userResourceClients(ecs, { credentials: CREDENTIALS });
    ecsApi = ecsClient(ecs, { credentials: CREDENTIALS });
    setUpCalls = standIn.calls.length;
  });

  afterAll(async () => {
    await standIn?.close();
    if (efsRoot) rmSync(efsRoot, { recursive: true, force: true });
  });

  /** Runs a one-container task that runs `script` with node and exits; answers the STOPPED task. */
  async function runOnce(
    family: string,
    script: string,
    volume: { accessPointId: string; path: string },
    roles: { taskRoleArn: string; secretArn?: string },
  ): Promise<Task> {
    const definition: RegisterTaskDefinitionCommandInput = {
      family,
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      cpu: "256",
      memory: "512",
      taskRoleArn: roles.taskRoleArn,
      executionRoleArn: EXECUTION_ROLE,
      volumes: [
        {
          name: "efs",
          efsVolumeConfiguration: {
            fileSystemId: FILE_SYSTEM,
            transitEncryption: "ENABLED",
            authorizationConfig: { accessPointId: volume.accessPointId, iam: "ENABLED" },
          },
        },
      ],
      containerDefinitions: [
        {
          name: "main",
          image: STAND_IN.node,
          essential: true,
          command: ["node", "-e", script],
          mountPoints: [{ sourceVolume: "efs", containerPath: volume.path }],
          ...(roles.secretArn ? { secrets: [{ name: "DB_PASS", valueFrom: `${roles.secretArn}:DB_PASS::` }] } : {}),
        },
      ],
    };
    await ecsApi.send(new RegisterTaskDefinitionCommand(definition));
    const run = await ecsApi.send(
      new RunTaskCommand({
        cluster: CLUSTER,
        taskDefinition: family,
        launchType: "FARGATE",
        networkConfiguration: { awsvpcConfiguration: { subnets: [SUBNET.id], securityGroups: [SECURITY_GROUP] } },
      }),
    );
    const arn = run.tasks![0]!.taskArn!;
    const deadline = Date.now() + 40_000;
    for (;;) {
      const task = (await ecsApi.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: [arn] }))).tasks![0]!;
      if (task.lastStatus === "STOPPED") return task;
      if (Date.now() > deadline) throw new Error(`task ${arn} still ${task.lastStatus}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  test("GIVEN a new user WHEN app and sandbox are asked for THEN both access points, the secret and the role are as designed", async () => {
    const subject = resources();
    const began = Date.now();
    const app = await subject.app(alice);
    const sandbox = await subject.sandbox(alice);
    process.stdout.write(`ecs-user-resources: first app + sandbox resources through the stand-in: ${Date.now() - began} ms\n`);

    const mine = await ofUser(alice);
    const appPoint = mine.find((ap) => ap.AccessPointId === app.appAccessPointId)!;
    const workspace = mine.find((ap) => ap.AccessPointId === sandbox.workspaceAccessPointId)!;
    expect(mine).toHaveLength(2);
    expect(appPoint).toMatchObject({
      FileSystemId: FILE_SYSTEM,
      LifeCycleState: "available",
      PosixUser: { Uid: 0, Gid: 0 },
      RootDirectory: { Path: `/users/${alice}/openhands`, CreationInfo: { OwnerUid: 0, OwnerGid: 0, Permissions: "0700" } },
    });
    expect(workspace).toMatchObject({
      PosixUser: { Uid: 10001, Gid: 10001 },
      RootDirectory: { Path: `/users/${alice}/workspace`, CreationInfo: { OwnerUid: 10001, OwnerGid: 10001, Permissions: "0750" } },
    });
    for (const ap of [appPoint, workspace]) {
      expect(ap.Tags).toEqual(
        expect.arrayContaining([
          { Key: "openhands-team:deployment", Value: DEPLOYMENT },
          { Key: "openhands-team:user", Value: alice },
        ]),
      );
    }

    const secret = await clients.secrets.send(new DescribeSecretCommand({ SecretId: app.appSecretArn }));
    expect(secret.Name).toBe(`openhands/test/users/${alice}/app`);
    const value = await clients.secrets.send(new GetSecretValueCommand({ SecretId: app.appSecretArn }));
    expect(value.SecretString).toBe(appSecret(alice));

    const roleName = `oh-sbx-${DEPLOYMENT}-${alice}`;
    const role = (await clients.iam.send(new GetRoleCommand({ RoleName: roleName }))).Role!;
    expect(role.Arn).toBe(`arn:aws:iam::${ACCOUNT}:role/oh-sandbox/${roleName}`);
    expect(sandbox).toEqual({ workspaceAccessPointId: workspace.AccessPointId, fileSystemId: FILE_SYSTEM, sandboxTaskRoleArn: role.Arn });
    expect(role.PermissionsBoundary?.PermissionsBoundaryArn).toBe(BOUNDARY);
    const trust = JSON.parse(decodeURIComponent(role.AssumeRolePolicyDocument!));
    expect(trust.Statement).toEqual([
      expect.objectContaining({
        Principal: { Service: "ecs-tasks.amazonaws.com" },
        Action: "sts:AssumeRole",
        Condition: expect.objectContaining({ StringEquals: { "aws:SourceAccount": ACCOUNT } }),
      }),
    ]);
    const policy = await clients.iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: "workspace-mount" }));
    expect(JSON.parse(decodeURIComponent(policy.PolicyDocument!)).Statement).toEqual([
      {
        Sid: "WorkspaceMount",
        Effect: "Allow",
        Action: ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
        Resource: FS_ARN,
        Condition: { StringEquals: { "elasticfilesystem:AccessPointArn": workspace.AccessPointArn } },
      },
    ]);

    // The app's own role: its boundary, its path, and a policy naming only alice's events and app access point.
    const appRoleName = `oh-app-${DEPLOYMENT}-${alice}`;
    const appRole = (await clients.iam.send(new GetRoleCommand({ RoleName: appRoleName }))).Role!;
    expect(app.appTaskRoleArn).toBe(`arn:aws:iam::${ACCOUNT}:role/oh-app/${appRoleName}`);
    expect(appRole).toMatchObject({ Arn: app.appTaskRoleArn, Path: "/oh-app/" });
    expect(appRole.PermissionsBoundary?.PermissionsBoundaryArn).toBe(APP_BOUNDARY);
    expect(JSON.parse(decodeURIComponent(appRole.AssumeRolePolicyDocument!)).Statement).toEqual(trust.Statement);
    const appPolicy = await clients.iam.send(new GetRolePolicyCommand({ RoleName: appRoleName, PolicyName: "app-access" }));
    const appStatements = JSON.parse(decodeURIComponent(appPolicy.PolicyDocument!)).Statement;
    expect(appStatements.map((statement: { Resource: string }) => statement.Resource)).toEqual([
      `arn:aws:s3:::oh-events/users/${alice}/*`,
      "arn:aws:s3:::oh-events",
      FS_ARN,
    ]);
    expect(appStatements[2].Condition).toEqual({ StringEquals: { "elasticfilesystem:AccessPointArn": appPoint.AccessPointArn } });
    expect(creations()).toEqual([2, 1, 0, 2]);
  });

  test("GIVEN a user's resources WHEN asked again, or by a restarted spawner THEN nothing is created again", async () => {
    const before = standIn.calls.length;
    const subject = resources();
    const first = [await subject.app(alice), await subject.sandbox(alice)];
    const afterRestart = standIn.calls.length;
    expect([await subject.app(alice), await subject.sandbox(alice)]).toEqual(first);
    // Within one process the answers are remembered: no call at all.
    expect(standIn.calls.length).toBe(afterRestart);
    // A restarted spawner only looks (and puts the role's one policy again, which it cannot read back).
    const made = standIn.calls.slice(before).filter((call) => call.service && !/^(Describe|Get)/.test(call.operation));
    expect(made.map((call) => call.operation)).toEqual(["PutRolePolicy", "PutRolePolicy"]);
    expect(creations()).toEqual([2, 1, 0, 2]);
  });

  test("GIVEN concurrent first calls, in one process and in two THEN each resource is created once", async () => {
    const subject = resources();
    const answers = await Promise.all([...[1, 2, 3].map(() => subject.app(bob)), ...[1, 2, 3].map(() => subject.sandbox(bob))]);
    expect(new Set(answers.map((answer) => JSON.stringify(answer))).size).toBe(2);
    expect(await ofUser(bob)).toHaveLength(2);
    expect(creations()).toEqual([4, 2, 0, 4]);

    // Two spawners racing: both look, both create; the loser is answered AccessPointAlreadyExists or
    // ResourceExistsException or EntityAlreadyExists and takes what the winner made.
    const [one, two] = await Promise.all([resources().sandbox(carol), resources().sandbox(carol)]);
    expect(one).toEqual(two);
    const [appOne, appTwo] = await Promise.all([resources().app(carol), resources().app(carol)]);
    expect(appOne).toEqual(appTwo);
    expect(await ofUser(carol)).toHaveLength(2);
    expect(count("CreateAccessPoint", false) - count("CreateAccessPoint")).toBeGreaterThanOrEqual(1);
  });

  test("GIVEN a start denied half-way (CreateRole, then PutRolePolicy, then CreateSecret) THEN the next call completes it", async () => {
    standIn.iam.failNext("CreateRole", "AccessDenied", `User: arn:aws:sts::${ACCOUNT}:assumed-role/host/i-0 is not authorized`);
    const failed = await resources()
      .sandbox(dave)
      .catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(UserResourceError);
    expect(failed).toMatchObject({ operation: "CreateRole", errorName: "AccessDenied" });
    expect((failed as Error).message).toMatch(new RegExp(`^CreateRole for user ${dave} failed: AccessDenied: `));
    expect(await ofUser(dave)).toHaveLength(1);

    standIn.iam.failNext("PutRolePolicy", "AccessDenied");
    await expect(resources().sandbox(dave)).rejects.toMatchObject({ operation: "PutRolePolicy" });
    expect(standIn.iam.role(`oh-sbx-${DEPLOYMENT}-${dave}`)?.inlinePolicies).toEqual({});

    const points = count("CreateAccessPoint");
    const completed = await resources().sandbox(dave);
    expect(count("CreateAccessPoint")).toBe(points);
    expect(Object.keys(standIn.iam.role(`oh-sbx-${DEPLOYMENT}-${dave}`)!.inlinePolicies)).toEqual(["workspace-mount"]);
    expect(completed.workspaceAccessPointId).toBe((await ofUser(dave))[0]!.AccessPointId);

    standIn.secretsManager.failNext("CreateSecret", "AccessDeniedException");
    await expect(resources().app(dave)).rejects.toMatchObject({ operation: "CreateSecret", errorName: "AccessDeniedException" });
    const app = await resources().app(dave);
    expect(await ofUser(dave)).toHaveLength(2);
    expect(standIn.secretsManager.secret(`openhands/test/users/${dave}/app`)?.current).toBe(appSecret(dave));
    expect(app.appAccessPointId).not.toBe(completed.workspaceAccessPointId);
  });

  test("GIVEN a secret holding another value (another db password key) THEN PutSecretValue makes this value current, once", async () => {
    const name = `openhands/test/users/${erin}/app`;
    // What a spawner with another dbPasswordKey writes.
    const withOldKey = () =>
      new EcsUserResources({
        config,
        ecs,
        ...clients,
        log: quiet,
        database: (slug) => ({ host: "h", port: 5432, database: "d", user: "u", password: `old-password-of-${slug}` }),
      });
    await withOldKey().app(erin);
    expect(standIn.secretsManager.secret(name)?.current).toBe(appSecret(erin, `old-password-of-${erin}`));
    const puts = count("PutSecretValue");
    await resources().app(erin);
    await resources().app(erin);
    expect(standIn.secretsManager.secret(name)?.current).toBe(appSecret(erin));
    expect(count("PutSecretValue")).toBe(puts + 1);
    // The old key back (a rollback): its value returns as a new version, current again.
    await withOldKey().app(erin);
    expect(standIn.secretsManager.secret(name)?.current).toBe(appSecret(erin, `old-password-of-${erin}`));
    expect(standIn.secretsManager.secret(name)?.versions).toHaveLength(3);
    expect(count("PutSecretValue")).toBe(puts + 2);
  });

  test("GIVEN two users THEN B's sandbox and app roles cannot mount A's folders, A's can, and A's app task reads its secret", async () => {
    const a = await resources().sandbox(alice);
    const b = await resources().sandbox(bob);
    const write = "require('fs').writeFileSync('/workspace/proof.txt', 'written by the sandbox')";

    const denied = await runOnce(
      "oh-sbx-cross-user",
      write,
      { accessPointId: a.workspaceAccessPointId, path: "/workspace" },
      {
        taskRoleArn: b.sandboxTaskRoleArn,
      },
    );
    expect(denied.stopCode).toBe("TaskFailedToStart");
    expect(denied.stoppedReason).toMatch(
      /^ResourceInitializationError: .*access denied by server.*not allowed elasticfilesystem:ClientMount/,
    );

    const allowed = await runOnce(
      "oh-sbx-own-user",
      write,
      { accessPointId: a.workspaceAccessPointId, path: "/workspace" },
      {
        taskRoleArn: a.sandboxTaskRoleArn,
      },
    );
    expect(allowed.stopCode).toBe("EssentialContainerExited");
    expect(allowed.containers?.[0]?.exitCode).toBe(0);
    expect(readFileSync(join(efsRoot, "users", alice, "workspace", "proof.txt"), "utf8")).toBe("written by the sandbox");

    const app = await resources().app(alice);
    const copy = "require('fs').writeFileSync('/.openhands/pass.txt', process.env.DB_PASS)";
    const appTask = await runOnce(
      "oh-app-check",
      copy,
      { accessPointId: app.appAccessPointId, path: "/.openhands" },
      {
        taskRoleArn: app.appTaskRoleArn,
        secretArn: app.appSecretArn,
      },
    );
    expect(appTask.containers?.[0]?.exitCode).toBe(0);
    expect(readFileSync(join(efsRoot, "users", alice, "openhands", "pass.txt"), "utf8")).toBe(password(alice));

    // Cross-user reads: bob's app role mounting alice's app folder (her settings and secrets) is refused by IAM.
    const bobsApp = await resources().app(bob);
    const crossed = await runOnce(
      "oh-app-cross-user",
      "require('fs').readdirSync('/.openhands')",
      { accessPointId: app.appAccessPointId, path: "/.openhands" },
      { taskRoleArn: bobsApp.appTaskRoleArn },
    );
    expect(crossed.stopCode).toBe("TaskFailedToStart");
    expect(crossed.stoppedReason).toMatch(/not allowed elasticfilesystem:ClientMount/);
  });

  test(
    "GIVEN IAM's propagation delay WHEN a sandbox role is new THEN a task placed on it at once fails to start, and the " +
      "resources answer only once the role is roleSettleMs old, when its task starts",
    async () => {
      const write = "require('fs').writeFileSync('/workspace/settled.txt', 'ok')";
      // Without the wait: ECS cannot assume a role IAM has not propagated, and the sandbox would fail (as on AWS).
      const unsettled = await resources({ roleSettleMs: 0 }).sandbox(grace);
      const early = await runOnce(
        "oh-sbx-unsettled",
        write,
        { accessPointId: unsettled.workspaceAccessPointId, path: "/workspace" },
        { taskRoleArn: unsettled.sandboxTaskRoleArn },
      );
      expect(early.stopCode).toBe("TaskFailedToStart");
      expect(early.stoppedReason).toMatch(/ECS was unable to assume the role/);

      const began = Date.now();
      const settled = await resources().sandbox(heidi);
      expect(Date.now() - began).toBeGreaterThanOrEqual(ROLE_SETTLE_MS - 50);
      const task = await runOnce(
        "oh-sbx-settled",
        write,
        { accessPointId: settled.workspaceAccessPointId, path: "/workspace" },
        { taskRoleArn: settled.sandboxTaskRoleArn },
      );
      expect(task.stopCode).toBe("EssentialContainerExited");
      expect(readFileSync(join(efsRoot, "users", heidi, "workspace", "settled.txt"), "utf8")).toBe("ok");

      // A restarted spawner meeting the role again waits no longer: the role's CreateDate says it has settled.
      const again = Date.now();
      await resources().sandbox(heidi);
      expect(Date.now() - again).toBeLessThan(ROLE_SETTLE_MS);
    },
  );

  test("GIVEN a user's resources WHEN removed THEN role, access points, secrets (the legacy one too) go; made again", async () => {
    const subject = resources();
    await subject.app(frank);
    await subject.sandbox(frank);
    expect(await ofUser(frank)).toHaveLength(2);
    expect(standIn.iam.role(`oh-app-${DEPLOYMENT}-${frank}`)?.path).toBe("/oh-app/");
    // Earlier versions kept the database password alone, in <prefix><slug>/database.
    const legacy = `openhands/test/users/${frank}/database`;
    await clients.secrets.send(new CreateSecretCommand({ Name: legacy, SecretString: password(frank) }));

    await subject.remove(frank);
    expect(await ofUser(frank)).toHaveLength(0);
    expect(standIn.iam.role(`oh-sbx-${DEPLOYMENT}-${frank}`)).toBeUndefined();
    expect(standIn.iam.role(`oh-app-${DEPLOYMENT}-${frank}`)).toBeUndefined();
    for (const name of [`openhands/test/users/${frank}/app`, legacy]) {
      await expect(clients.secrets.send(new DescribeSecretCommand({ SecretId: name }))).rejects.toMatchObject({
        name: "ResourceNotFoundException",
      });
    }
    // Removing again finds nothing to remove; asking again makes everything anew.
    await subject.remove(frank);
    await subject.sandbox(frank);
    expect(await ofUser(frank)).toHaveLength(1);
    await subject.remove(frank);
  });

  test("GIVEN bad slugs THEN they are refused before any call", async () => {
    const subject = resources();
    const before = standIn.calls.length;
    for (const slug of ["../etc", "ABCDEFGHIJKLMNOP", "", `${alice}x`, "aaaaaaaaaaaaaaa1"]) {
      await expect(subject.app(slug)).rejects.toThrow(/not a user slug/);
      await expect(subject.sandbox(slug)).rejects.toThrow(/not a user slug/);
      await expect(subject.remove(slug)).rejects.toThrow(/not a user slug/);
    }
    expect(standIn.calls.length).toBe(before);
  });

  test("GIVEN AWS errors THEN the SDK retries throttling and anything else is surfaced with operation and error name", async () => {
    const slug = user(97).slug;
    standIn.efs.failNext("DescribeAccessPoints", "ThrottlingException");
    standIn.iam.failNext("CreateRole", "Throttling");
    standIn.secretsManager.failNext("DescribeSecret", "ThrottlingException");
    const subject = resources();
    await subject.sandbox(slug);
    await subject.app(slug);
    const throttled = standIn.calls.filter((call) => call.status === 429 || /Throttling/.test(JSON.stringify(call.body)));
    expect(throttled.map((call) => call.operation).sort()).toEqual(["CreateRole", "DescribeAccessPoints", "DescribeSecret"]);

    const other = user(98).slug;
    standIn.efs.failNext("DescribeAccessPoints", "AccessDeniedException");
    await expect(resources().app(other)).rejects.toMatchObject({
      operation: "DescribeAccessPoints",
      errorName: "AccessDeniedException",
      message: expect.stringContaining(`DescribeAccessPoints for user ${other} failed: AccessDeniedException`),
    });
    standIn.iam.failNext("GetRole", "ServiceFailure");
    standIn.iam.failNext("GetRole", "ServiceFailure");
    standIn.iam.failNext("GetRole", "ServiceFailure");
    standIn.iam.failNext("GetRole", "ServiceFailure");
    await expect(resources().sandbox(other)).rejects.toMatchObject({ operation: "GetRole", errorName: "ServiceFailureException" });
  });
});
