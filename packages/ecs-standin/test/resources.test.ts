/**
 * Secrets and EFS volumes in the ECS stand-in: the values a task's `secrets` name become its environment, and EFS
 * access points become folders mounted at the mount points, with the failures ECS reports when either cannot be
 * resolved (ResourceInitializationError) and the checks it makes at registration. Amazon ECS, Secrets Manager and EFS
 * cannot run here; the stand-in is given the secrets and a host folder per file system by the test.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeWithEngine } from "@openhands-team/docker-lab";
import type { EcsStandIn } from "../src";
import { appDefinition, awsvpc, CLUSTER, ecs, eventually, startStandIn, taskWhen } from "./support";

const SECRET = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:openhands/prod/db-AbCdEf";
const JSON_SECRET = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:openhands/prod/login-GhIjKl";
const PARAMETER = "arn:aws:ssm:eu-central-1:123456789012:parameter/openhands/prod/greeting";
const EXECUTION_ROLE = "arn:aws:iam::123456789012:role/openhands-execution";
const TASK_ROLE = "arn:aws:iam::123456789012:role/openhands-sandbox-abcdefghijklmnop";
const FILE_SYSTEM = "fs-0123456789abcdef0";
const ACCESS_POINT = "fsap-0123456789abcdef0";

/** A server that answers the named environment variables, joined by commas, after writing a file when asked. */
function serverCommand(names: string[], writeFile?: string): string[] {
  const write = writeFile ? `require('fs').writeFileSync(${JSON.stringify(writeFile)}, 'written by the task');` : "";
  const answer = names.map((name) => `process.env.${name}`).join(" + ',' + ");
  return [
    "node",
    "-e",
    `${write} require('http').createServer((q, s) => s.end(${answer})).listen(3000); process.on('SIGTERM', () => process.exit(0))`,
  ];
}

async function answerOf(endpoint: string, taskArn: string): Promise<string> {
  const running = await taskWhen(endpoint, taskArn, (task) => task.lastStatus === "RUNNING" || task.lastStatus === "STOPPED", "RUNNING");
  expect(running.stoppedReason).toBeUndefined();
  const ip = running.containers[0].networkInterfaces[0].privateIpv4Address;
  return eventually(async () => {
    try {
      return await (await fetch(`http://${ip}:3000/`)).text();
    } catch {
      return undefined;
    }
  }, "the task's answer");
}

describeWithEngine("ECS stand-in: secrets and EFS volumes", () => {
  let standIn: EcsStandIn;
  let endpoint: string;
  let efsRoot: string;

  beforeAll(async () => {
    efsRoot = mkdtempSync(join(tmpdir(), "ecs-standin-efs-"));
    standIn = await startStandIn({
      secrets: { [SECRET]: "s3cret", [JSON_SECRET]: JSON.stringify({ username: "u_abc" }), [PARAMETER]: "hello from ssm" },
      efs: {
        fileSystems: { [FILE_SYSTEM]: { path: efsRoot, requireIam: true } },
        accessPoints: {
          [ACCESS_POINT]: {
            fileSystemId: FILE_SYSTEM,
            rootDirectory: "/users/abcdefghijklmnop/workspace",
            creationInfo: { ownerUid: 10001, ownerGid: 10001, permissions: "750" },
          },
          "fsap-0fedcba9876543210": { fileSystemId: "fs-0ffffffffffffffff", rootDirectory: "/elsewhere" },
        },
      },
    });
    endpoint = standIn.endpoint;
  });

  afterAll(async () => {
    await standIn?.close();
    rmSync(efsRoot, { recursive: true, force: true });
  });

  const workspaceVolume = (authorization: Record<string, string>, transitEncryption = "ENABLED") => ({
    volumes: [
      { name: "workspace", efsVolumeConfiguration: { fileSystemId: FILE_SYSTEM, transitEncryption, authorizationConfig: authorization } },
    ],
  });

  test("secrets from Secrets Manager (whole and by JSON key) and SSM become environment variables", async () => {
    const definition = appDefinition("oh-secrets", {
      command: serverCommand(["DB_PASS", "DB_USER", "GREETING"]),
      secrets: [
        { name: "DB_PASS", valueFrom: SECRET },
        { name: "DB_USER", valueFrom: `${JSON_SECRET}:username::` },
        { name: "GREETING", valueFrom: PARAMETER },
      ],
    });
    expect((await ecs(endpoint, "RegisterTaskDefinition", { ...definition, executionRoleArn: EXECUTION_ROLE })).status).toBe(200);

    const run = await ecs(endpoint, "RunTask", { cluster: CLUSTER, taskDefinition: "oh-secrets", networkConfiguration: awsvpc() });

    expect(await answerOf(endpoint, run.body.tasks[0].taskArn)).toBe("s3cret,u_abc,hello from ssm");
    await ecs(endpoint, "StopTask", { cluster: CLUSTER, task: run.body.tasks[0].taskArn });
  });

  test("secrets need an execution role at registration, and a secret the store lacks fails the start", async () => {
    const definition = appDefinition("oh-nosecret", { secrets: [{ name: "DB_PASS", valueFrom: `${SECRET.slice(0, -6)}ZzZzZz` }] });
    const refused = await ecs(endpoint, "RegisterTaskDefinition", definition);
    expect(refused.body).toEqual({
      __type: "ClientException",
      message: "When you are specifying container secrets, you must also specify a value for 'executionRoleArn'.",
    });
    await ecs(endpoint, "RegisterTaskDefinition", { ...definition, executionRoleArn: EXECUTION_ROLE });

    const run = await ecs(endpoint, "RunTask", { cluster: CLUSTER, taskDefinition: "oh-nosecret", networkConfiguration: awsvpc() });
    const stopped = await taskWhen(endpoint, run.body.tasks[0].taskArn, (task) => task.lastStatus === "STOPPED", "STOPPED");

    expect(stopped.stopCode).toBe("TaskFailedToStart");
    expect(stopped.stoppedReason).toMatch(/^ResourceInitializationError: unable to pull secrets .*ResourceNotFoundException/);
  });

  test("an EFS access point with IAM authorisation and a task role is mounted at its root, created with its owner and mode", async () => {
    await ecs(endpoint, "RegisterTaskDefinition", {
      ...appDefinition("oh-efs", {
        command: serverCommand(["HOSTNAME"], "/workspace/hello.txt"),
        mountPoints: [{ sourceVolume: "workspace", containerPath: "/workspace" }],
      }),
      ...workspaceVolume({ accessPointId: ACCESS_POINT, iam: "ENABLED" }),
      taskRoleArn: TASK_ROLE,
    });

    const run = await ecs(endpoint, "RunTask", { cluster: CLUSTER, taskDefinition: "oh-efs", networkConfiguration: awsvpc() });
    await answerOf(endpoint, run.body.tasks[0].taskArn);

    const root = join(efsRoot, "users/abcdefghijklmnop/workspace");
    expect(readFileSync(join(root, "hello.txt"), "utf8")).toBe("written by the task");
    const folder = statSync(root);
    expect([folder.uid, folder.gid, folder.mode & 0o777]).toEqual([10001, 10001, 0o750]);
    await ecs(endpoint, "StopTask", { cluster: CLUSTER, task: run.body.tasks[0].taskArn });
  });

  test.each([
    [
      "IAM authorisation without a task role",
      { accessPointId: ACCESS_POINT, iam: "ENABLED" },
      undefined,
      /IAM authorization needs a task role/,
    ],
    [
      "no IAM where the file system policy requires it",
      { accessPointId: ACCESS_POINT, iam: "DISABLED" },
      TASK_ROLE,
      /access denied by server/,
    ],
    [
      "another file system's access point",
      { accessPointId: "fsap-0fedcba9876543210", iam: "ENABLED" },
      TASK_ROLE,
      /is not an access point of/,
    ],
  ])("a mount with %s fails the start with ResourceInitializationError", async (_case, authorization, taskRoleArn, reason) => {
    const family = `oh-efs-${Math.random().toString(16).slice(2, 10)}`;
    await ecs(endpoint, "RegisterTaskDefinition", {
      ...appDefinition(family, { mountPoints: [{ sourceVolume: "workspace", containerPath: "/workspace" }] }),
      ...workspaceVolume(authorization),
      ...(taskRoleArn ? { taskRoleArn } : {}),
    });

    const run = await ecs(endpoint, "RunTask", { cluster: CLUSTER, taskDefinition: family, networkConfiguration: awsvpc() });
    const stopped = await taskWhen(endpoint, run.body.tasks[0].taskArn, (task) => task.lastStatus === "STOPPED", "STOPPED");

    expect(stopped.stopCode).toBe("TaskFailedToStart");
    expect(stopped.stoppedReason).toMatch(/^ResourceInitializationError: failed to invoke EFS utils commands/);
    expect(stopped.stoppedReason).toMatch(reason);
  });

  test.each([
    [
      "an access point without transit encryption",
      workspaceVolume({ accessPointId: ACCESS_POINT }, "DISABLED"),
      /transitEncryption must be ENABLED/,
    ],
    [
      "an access point with its own root directory",
      {
        volumes: [
          {
            name: "workspace",
            efsVolumeConfiguration: {
              fileSystemId: FILE_SYSTEM,
              rootDirectory: "/x",
              transitEncryption: "ENABLED",
              authorizationConfig: { accessPointId: ACCESS_POINT },
            },
          },
        ],
      },
      /rootDirectory must be omitted/,
    ],
    ["a mount point of a volume that does not exist", { volumes: [] }, /is not a volume of the task definition/],
  ])("RegisterTaskDefinition refuses %s", async (_case, volumes, message) => {
    const answer = await ecs(endpoint, "RegisterTaskDefinition", {
      ...appDefinition("oh-efs-bad", { mountPoints: [{ sourceVolume: "workspace", containerPath: "/workspace" }] }),
      ...volumes,
    });
    expect(answer.status).toBe(400);
    expect(answer.body.__type).toBe("ClientException");
    expect(answer.body.message).toMatch(message);
  });
});
