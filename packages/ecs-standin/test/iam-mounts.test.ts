/**
 * Tasks meeting what the EFS, IAM and Secrets Manager APIs made: an access point mounts once `available`, a task role
 * is assumed only as its trust policy allows, its policies (capped by its permissions boundary) decide whether an EFS
 * mount is allowed and whether it is writable, and a secret resolves while it exists. None of these services, nor ECS,
 * can run here: the stand-in's tasks are real containers on the lab engine, its file system a host folder.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeWithEngine } from "@openhands-team/docker-lab";
import type { EcsStandIn } from "../src";
import { ecsTasksTrust, efsCall, iamCall, mountPolicy, secretsCall, xmlText } from "./aws-support";
import { appDefinition, awsvpc, CLUSTER, ecs, eventually, startStandIn, taskWhen } from "./support";

const FILE_SYSTEM = "fs-0123456789abcdef0";
const FS_ARN = `arn:aws:elasticfilesystem:eu-central-1:123456789012:file-system/${FILE_SYSTEM}`;
const BOUNDARY = "arn:aws:iam::123456789012:policy/sandbox-boundary";
const EXECUTION_ROLE = "arn:aws:iam::123456789012:role/execution";
const BOUNDARY_DOCUMENT = JSON.stringify({
  Statement: [{ Effect: "Allow", Action: ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"], Resource: FS_ARN }],
});

describeWithEngine("ECS stand-in: tasks use the access points, roles and secrets made through its AWS APIs", () => {
  let standIn: EcsStandIn;
  let endpoint: string;
  let efsRoot: string;
  /** Access points made in beforeAll, `available` by the time the tests after the first need them. */
  const points: Record<string, { AccessPointId: string; AccessPointArn: string }> = {};

  beforeAll(async () => {
    efsRoot = mkdtempSync(join(tmpdir(), "ecs-standin-iam-"));
    standIn = await startStandIn({
      efs: { fileSystems: { [FILE_SYSTEM]: { path: efsRoot, requireIam: true } }, accessPoints: {} },
      iam: { policies: { [BOUNDARY]: BOUNDARY_DOCUMENT } },
      accessPointReadyMs: 3_000,
    });
    endpoint = standIn.endpoint;
    for (const name of ["two", "three", "four", "five"]) points[name] = await accessPoint(`mount-${name}`, `/${name}`);
  });

  afterAll(async () => {
    await standIn?.close();
    rmSync(efsRoot, { recursive: true, force: true });
  });

  const accessPoint = async (token: string, path: string) =>
    (
      await efsCall(endpoint, "POST", "access-points", {
        ClientToken: token,
        FileSystemId: FILE_SYSTEM,
        PosixUser: { Uid: 0, Gid: 0 },
        RootDirectory: { Path: path, CreationInfo: { OwnerUid: 0, OwnerGid: 0, Permissions: "0755" } },
      })
    ).body as { AccessPointId: string; AccessPointArn: string };

  const role = async (name: string, trust: string, policy?: string): Promise<string> => {
    const created = await iamCall(endpoint, {
      Action: "CreateRole",
      RoleName: name,
      AssumeRolePolicyDocument: trust,
      PermissionsBoundary: BOUNDARY,
    });
    if (policy) await iamCall(endpoint, { Action: "PutRolePolicy", RoleName: name, PolicyName: "mount", PolicyDocument: policy });
    return xmlText(created.xml, "Arn")!;
  };

  /** Runs a task whose one container runs `script` (node) with the access point at /data; answers it STOPPED. */
  async function runOnce(family: string, script: string, accessPointId: string, taskRoleArn: string, secretArn?: string): Promise<any> {
    await ecs(endpoint, "RegisterTaskDefinition", {
      ...appDefinition(family, {
        command: ["node", "-e", script],
        mountPoints: [{ sourceVolume: "data", containerPath: "/data" }],
        ...(secretArn ? { secrets: [{ name: "SECRET", valueFrom: secretArn }] } : {}),
      }),
      taskRoleArn,
      executionRoleArn: EXECUTION_ROLE,
      volumes: [
        {
          name: "data",
          efsVolumeConfiguration: {
            fileSystemId: FILE_SYSTEM,
            transitEncryption: "ENABLED",
            authorizationConfig: { accessPointId, iam: "ENABLED" },
          },
        },
      ],
    });
    const run = await ecs(endpoint, "RunTask", { cluster: CLUSTER, taskDefinition: family, networkConfiguration: awsvpc() });
    return taskWhen(endpoint, run.body.tasks[0].taskArn, (task) => task.lastStatus === "STOPPED", "STOPPED");
  }

  test("an access point made through the EFS API fails a start while `creating`, and mounts once `available`", async () => {
    const point = await accessPoint("mount-1", "/one");
    const writer = await role("writer", ecsTasksTrust(), mountPolicy(FS_ARN, point.AccessPointArn));
    const write = "require('fs').writeFileSync('/data/hello.txt', 'hello')";

    const early = await runOnce("early", write, point.AccessPointId, writer);
    expect(early.stopCode).toBe("TaskFailedToStart");
    expect(early.stoppedReason).toMatch(/access point fsap-[0-9a-f]+ is creating/);

    await eventually(async () => {
      const answer = await efsCall(endpoint, "GET", `access-points?AccessPointId=${point.AccessPointId}`);
      return answer.body.AccessPoints[0].LifeCycleState === "available" ? true : undefined;
    }, "the access point available");
    const later = await runOnce("later", write, point.AccessPointId, writer);
    expect([later.stopCode, later.containers[0].exitCode]).toEqual(["EssentialContainerExited", 0]);
    expect(readFileSync(join(efsRoot, "one", "hello.txt"), "utf8")).toBe("hello");
  });

  test("a role allowed ClientMount without ClientWrite mounts read-only; one allowed another access point cannot mount", async () => {
    const [point, other] = [points.two!, points.three!];
    const reader = await role("reader", ecsTasksTrust(), mountPolicy(FS_ARN, point.AccessPointArn, ["elasticfilesystem:ClientMount"]));
    const stranger = await role("stranger", ecsTasksTrust(), mountPolicy(FS_ARN, other.AccessPointArn));
    const write = "try { require('fs').writeFileSync('/data/x.txt', 'x') } catch { process.exit(3) }";

    const readOnly = await runOnce("read-only", write, point.AccessPointId, reader);
    expect([readOnly.stopCode, readOnly.containers[0].exitCode]).toEqual(["EssentialContainerExited", 3]);
    const denied = await runOnce("denied", write, point.AccessPointId, stranger);
    expect(denied.stopCode).toBe("TaskFailedToStart");
    expect(denied.stoppedReason).toMatch(/not allowed elasticfilesystem:ClientMount through fsap-/);
  });

  test("a task role ECS tasks may not assume, or one IAM does not hold, fails the start", async () => {
    const point = points.four!;
    const foreign = await role("foreign-trust", ecsTasksTrust("999999999999"), mountPolicy(FS_ARN, point.AccessPointArn));
    for (const taskRole of [foreign, "arn:aws:iam::123456789012:role/never-created"]) {
      const stopped = await runOnce(`assume-${taskRole.length}`, "", point.AccessPointId, taskRole);
      expect(stopped.stopCode).toBe("TaskFailedToStart");
      expect(stopped.stoppedReason).toContain(`ECS was unable to assume the role '${taskRole}'`);
    }
  });

  test("a secret made through Secrets Manager resolves in a task's secrets, its new value too, and not once deleted", async () => {
    const point = points.five!;
    const writer = await role("secret-reader", ecsTasksTrust(), mountPolicy(FS_ARN, point.AccessPointArn));
    const created = await secretsCall(endpoint, "CreateSecret", { Name: "users/abc/database", SecretString: "first" });
    await secretsCall(endpoint, "PutSecretValue", { SecretId: created.body.ARN, SecretString: "second" });
    const copy = "require('fs').writeFileSync('/data/secret.txt', process.env.SECRET)";

    const task = await runOnce("secret", copy, point.AccessPointId, writer, created.body.ARN);
    expect(task.containers[0].exitCode).toBe(0);
    expect(readFileSync(join(efsRoot, "five", "secret.txt"), "utf8")).toBe("second");

    await secretsCall(endpoint, "DeleteSecret", { SecretId: created.body.ARN, RecoveryWindowInDays: 7 });
    const gone = await runOnce("secret-gone", copy, point.AccessPointId, writer, created.body.ARN);
    expect(gone.stopCode).toBe("TaskFailedToStart");
    expect(gone.stoppedReason).toMatch(/^ResourceInitializationError: unable to pull secrets/);
  });
});
