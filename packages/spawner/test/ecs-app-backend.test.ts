/**
 * The ECS app backend (src/ecs/app-backend.ts) against the ECS API stand-in (@openhands-team/ecs-standin). Amazon ECS
 * cannot run here (no AWS account is reachable); the stand-in is the contract fake: it answers ECS's documented
 * requests and errors through the AWS SDK, and runs each task as real containers on docker-lab's engine, with the
 * secrets and EFS folders the test hands it. The app image is the lab's OpenHands app stand-in.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DescribeTaskDefinitionCommand, DescribeTasksCommand, type ECSClient, RunTaskCommand, type Task } from "@aws-sdk/client-ecs";
import { describeWithEngine, docker, ensureImage, labEngine, STAND_IN } from "@openhands-team/docker-lab";
import { EcsStandIn } from "@openhands-team/ecs-standin";
import { userJwtSecret } from "../src/app-environment";
import { type EcsConfig, parseConfig, type SpawnerConfig } from "../src/config";
import type { UserDatabase } from "../src/database";
import { EcsAppBackend } from "../src/ecs/app-backend";
import { ecsClient } from "../src/ecs/client";
import { sandboxApiKey, verifySandboxApiKey } from "../src/ecs/sandbox-api-key";
import { createLogger } from "../src/log";
import { user } from "./helpers/harness";
import { minimalConfigAppSecret, minimalConfigDocument } from "./helpers/minimal-config";

jest.setTimeout(60_000);

const SUBNET = { id: "subnet-0a1b2c3d4e5f60718", cidr: "10.251.7.0/24", availabilityZone: "eu-central-1b" };
const SECURITY_GROUP = "sg-0123456789abcdef0";
const CLUSTER = "openhands";
const FILE_SYSTEM = "fs-0123456789abcdef0";
const HOST_ADDRESS = "10.251.7.1";
const SANDBOX_SECRET = "sandbox-api-key-secret-for-the-tests-0123456789";
const APP_TASK_ROLE = "arn:aws:iam::123456789012:role/openhands-app";

const alice = user(81);
const bob = user(82);
const carol = user(83);
/** A user whose app secret the store does not hold: their task cannot start. */
const dave = user(84);

const secretArn = (slug: string) => `arn:aws:secretsmanager:eu-central-1:123456789012:secret:openhands/db/${slug}-AbCdEf`;
const accessPoint = (n: number) => `fsap-00000000000000${n}`;
const database = (slug: string): UserDatabase => ({
  host: "db.internal",
  port: 5432,
  database: `oh_${slug}`,
  user: `u_${slug}`,
  password: `db-password-of-${slug}`,
});
const quiet = createLogger({ level: "error", write: () => undefined });

describeWithEngine("ECS app backend: users' apps as tasks of the ECS stand-in on a real engine", () => {
  let standIn: EcsStandIn;
  let efsRoot: string;
  let client: ECSClient;
  let config: SpawnerConfig;
  let ecs: EcsConfig;
  let backend: EcsAppBackend;
  const stoppedSeen: string[] = [];

  const newBackend = (overrides: Partial<EcsConfig> = {}) =>
    new EcsAppBackend({
      config,
      ecs: { ...ecs, ...overrides },
      client,
      log: quiet,
      resources: async (slug) => ({
        appAccessPointId: accessPoint([alice, bob, carol, dave].findIndex((u) => u.slug === slug) + 81),
        appSecretArn: secretArn(slug),
        appTaskRoleArn: APP_TASK_ROLE,
      }),
    });
  const start = (b: EcsAppBackend, slug: string) =>
    b.place(slug).then((placement) =>
      b.start({
        slug,
        placement,
        database: database(slug),
        paths: { root: "/unused", openhands: "/unused", workspace: "/unused", sandboxRecords: "/unused" },
      }),
    );
  const calls = (operation: string) => standIn.calls.filter((call) => call.operation === operation);
  const describeTask = async (slug: string): Promise<Task> => {
    const arn = (standIn.calls.filter((c) => c.operation === "RunTask" && c.status === 200).map((c) => c.body) as any[])
      .flatMap((body) => body.tasks)
      .filter((task) => task.startedBy === slug)
      .pop().taskArn;
    return (await client.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: [arn] }))).tasks![0]!;
  };
  const answers = async (upstream: string): Promise<number> => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        return (await fetch(`${upstream}/alive`)).status;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  };

  beforeAll(async () => {
    // The app and the tasks' network owner only: the agent-server image is named in the environment, never run here.
    const app = await ensureImage(STAND_IN.app["1.7.0"]);
    await ensureImage(STAND_IN.node);
    efsRoot = mkdtempSync(join(tmpdir(), "ecs-app-efs-"));
    const users = [alice, bob, carol, dave];
    standIn = await EcsStandIn.start({
      socketPath: labEngine()!.socketPath,
      clusters: [CLUSTER],
      subnets: [SUBNET],
      securityGroups: [SECURITY_GROUP],
      pause: {
        image: STAND_IN.node,
        command: ["node", "-e", "process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1 << 30)"],
      },
      secrets: Object.fromEntries(
        [alice, bob, carol].map((u) => [secretArn(u.slug), minimalConfigAppSecret(u.slug, database(u.slug).password, SANDBOX_SECRET)]),
      ),
      efs: {
        fileSystems: { [FILE_SYSTEM]: { path: efsRoot, requireIam: true } },
        accessPoints: Object.fromEntries(
          users.map((u, index) => [
            accessPoint(81 + index),
            {
              fileSystemId: FILE_SYSTEM,
              rootDirectory: `/users/${u.slug}/openhands`,
              creationInfo: { ownerUid: 0, ownerGid: 0, permissions: "700" },
            },
          ]),
        ),
      },
    });
    config = parseConfig({
      ...minimalConfigDocument(),
      images: { app, agentServer: STAND_IN.agentServer["1.19.1-python"] },
      backend: "ecs",
      ecs: {
        endpoint: standIn.endpoint,
        cluster: CLUSTER,
        subnets: [SUBNET.id],
        appSecurityGroup: SECURITY_GROUP,
        // Unknown to the stand-in (it refuses unknown groups as EC2 does): an app task given it would not start.
        sandboxSecurityGroup: "sg-0fffffffffffffff1",
        executionRoleArn: "arn:aws:iam::123456789012:role/openhands-ecs-execution",
        appCpu: 256,
        appMemoryMiB: 512,
        efsFileSystemId: FILE_SYSTEM,
        hostPrivateAddress: HOST_ADDRESS,
        sandboxApiKeySecret: SANDBOX_SECRET,
        sandboxDomain: "sandboxes.openhands.internal",
        taskStartTimeoutMs: 30_000,
        taskPollIntervalMs: 100,
      },
    });
    ecs = config.ecs!;
    client = ecsClient(ecs, { credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "stand-in-does-not-check" } });
    backend = newBackend();
    backend.onStopped((slug) => stoppedSeen.push(slug));
  });

  afterAll(async () => {
    await standIn?.close();
    if (efsRoot) rmSync(efsRoot, { recursive: true, force: true });
  });

  test("GIVEN a user with no task WHEN the app starts THEN one FARGATE task runs in the app subnets and its upstream answers", async () => {
    const began = Date.now();
    const instance = await start(backend, alice.slug);
    const ms = Date.now() - began;
    process.stdout.write(`ecs-app-backend: start to RUNNING through the stand-in: ${ms} ms\n`);

    expect(instance).toEqual({ slug: alice.slug, state: "running", upstream: expect.stringMatching(/^http:\/\/10\.251\.7\.\d+:3000$/) });
    expect(await answers(instance.upstream!)).toBe(200);
    expect(backend.get(alice.slug)).toEqual(instance);
    const [run] = calls("RunTask");
    expect(run?.body).toBeDefined();
    const task = await describeTask(alice.slug);
    expect(task).toMatchObject({ startedBy: alice.slug, group: "apps", launchType: "FARGATE", lastStatus: "RUNNING" });
    expect(task.taskDefinitionArn).toMatch(new RegExp(`task-definition/oh-app-${alice.slug}:1$`));
    expect(task.attachments?.[0]?.details).toEqual(expect.arrayContaining([{ name: "subnetId", value: SUBNET.id }]));
  });

  test("THEN the task sees the docker environment for the remote sandbox API, the password only as a secret, its EFS folder", async () => {
    const task = await describeTask(alice.slug);
    const [inspected] = JSON.parse(docker(["inspect", task.containers![0]!.runtimeId!]).stdout);
    const env = Object.fromEntries(
      (inspected.Config.Env as string[]).map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
    );
    expect(env).toMatchObject({
      DB_HOST: "db.internal",
      DB_NAME: `oh_${alice.slug}`,
      DB_USER: `u_${alice.slug}`,
      DB_PASS: `db-password-of-${alice.slug}`,
      OH_SANDBOX_KIND: "RemoteSandboxServiceInjector",
      OH_SANDBOX_SPEC_KIND: "RemoteSandboxSpecServiceInjector",
      OH_SANDBOX_API_URL: `http://${HOST_ADDRESS}:8082`,
      OH_SANDBOX_API_KEY: sandboxApiKey(SANDBOX_SECRET, alice.slug),
      // The relay, not the public app host: sandboxes get <web_url>/mcp/mcp and the secrets lookup from it.
      OH_WEB_URL: `http://${HOST_ADDRESS}:3000`,
      OH_SANDBOX_MAX_NUM_SANDBOXES: "3",
      OH_EVENT_PREFIX: `users/${alice.slug}`,
      OH_PERSISTENCE_DIR: "/.openhands",
      FORWARDED_ALLOW_IPS: HOST_ADDRESS,
      JWT_SECRET: userJwtSecret(config.secrets.openhandsJwtSecret, alice.slug),
      OH_PERMITTED_CORS_ORIGINS_0: "https://openhands.example.com",
    });
    expect(verifySandboxApiKey(SANDBOX_SECRET, env.OH_SANDBOX_API_KEY!)).toBe(alice.slug);
    for (const dockerOnly of [
      "DOCKER_HOST",
      "OH_SANDBOX_CONTAINER_URL_PATTERN",
      "OH_SANDBOX_EXTRA_HOSTS",
      "OH_SANDBOX_CONTAINER_NAME_PREFIX",
    ]) {
      expect(env[dockerOnly]).toBeUndefined();
    }
    const mount = (inspected.Mounts as Array<{ Source: string; Destination: string; RW: boolean }>).find(
      (m) => m.Destination === "/.openhands",
    );
    expect(mount).toMatchObject({ Source: join(efsRoot, "users", alice.slug, "openhands"), RW: true });

    // Secrets in task definitions: whoever may describe the definition must not read the password, the JWT secret (to
    // sign the app's tokens) or the sandbox API key (to act as the app on the sandbox API) there.
    const definition = (await client.send(new DescribeTaskDefinitionCommand({ taskDefinition: task.taskDefinitionArn }))).taskDefinition!;
    for (const value of [database(alice.slug).password, env.JWT_SECRET!, env.OH_SANDBOX_API_KEY!]) {
      expect(JSON.stringify(definition)).not.toContain(value);
    }
    expect(definition).toMatchObject({
      cpu: "256",
      memory: "512",
      networkMode: "awsvpc",
      taskRoleArn: APP_TASK_ROLE,
      runtimePlatform: { cpuArchitecture: "ARM64", operatingSystemFamily: "LINUX" },
      volumes: [
        {
          efsVolumeConfiguration: {
            fileSystemId: FILE_SYSTEM,
            transitEncryption: "ENABLED",
            authorizationConfig: { accessPointId: accessPoint(81), iam: "ENABLED" },
          },
        },
      ],
    });
    expect(definition.containerDefinitions?.[0]?.secrets).toEqual(
      ["DB_PASS", "JWT_SECRET", "OH_SANDBOX_API_KEY"].map((name) => ({ name, valueFrom: `${secretArn(alice.slug)}:${name}::` })),
    );
  });

  test("GIVEN the running app WHEN it starts again THEN the same task is returned and no task is run", async () => {
    const before = calls("RunTask").length;
    const first = backend.get(alice.slug);
    const [again, concurrent] = await Promise.all([start(backend, alice.slug), start(backend, alice.slug)]);
    expect(again).toEqual(first);
    expect(concurrent).toEqual(first);
    expect(calls("RunTask")).toHaveLength(before);
  });

  test("GIVEN a restarted spawner WHEN a new backend reads ECS THEN its view holds the running app, and nothing else", async () => {
    const restarted = newBackend();
    expect(restarted.get(alice.slug)).toBeUndefined();
    await restarted.ready();
    expect(restarted.get(alice.slug)).toEqual(backend.get(alice.slug));
    expect(restarted.list()).toEqual([backend.get(alice.slug)]);
  });

  test("GIVEN the running app WHEN stopped and started THEN StopTask says idle cull and the unchanged definition is reused", async () => {
    const registered = calls("RegisterTaskDefinition").length;
    const before = await describeTask(alice.slug);
    await backend.stop(alice.slug);
    const stopCall = calls("StopTask").pop();
    expect(stopCall).toBeDefined();
    const stopped = (await client.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: [before.taskArn!] }))).tasks![0]!;
    expect(stopped).toMatchObject({ lastStatus: "STOPPED", stopCode: "UserInitiated", stoppedReason: "idle cull" });
    expect(backend.get(alice.slug)).toEqual({ slug: alice.slug, state: "stopped" });
    expect(stoppedSeen).toContain(alice.slug);

    const began = Date.now();
    const again = await start(backend, alice.slug);
    process.stdout.write(`ecs-app-backend: restart to RUNNING (definition reused): ${Date.now() - began} ms\n`);
    expect(again.state).toBe("running");
    const after = await describeTask(alice.slug);
    expect(after.taskArn).not.toBe(before.taskArn);
    expect(after.taskDefinitionArn).toBe(before.taskDefinitionArn);
    expect(calls("RegisterTaskDefinition")).toHaveLength(registered);
  });

  test(
    "GIVEN a changed configuration WHEN the app starts next THEN a new revision is registered and runs, the replaced one " +
      "deregistered, and its output goes to the task log group",
    async () => {
      await backend.stop(alice.slug);
      const bigger = newBackend({ appCpu: 512, appMemoryMiB: 1024, taskLogGroup: "/openhands/test/tasks" });
      await start(bigger, alice.slug);
      const task = await describeTask(alice.slug);
      expect(task.taskDefinitionArn).toMatch(new RegExp(`task-definition/oh-app-${alice.slug}:2$`));
      const describe = async (arn: string) =>
        (await client.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn }))).taskDefinition!;
      const definition = await describe(task.taskDefinitionArn!);
      expect(definition).toMatchObject({ cpu: "512", memory: "1024", status: "ACTIVE" });
      // Fargate's awslogs: group, region and the stream prefix (streams <prefix>/<container>/<task id>).
      expect(definition.containerDefinitions![0]!.logConfiguration).toEqual({
        logDriver: "awslogs",
        options: { "awslogs-group": "/openhands/test/tasks", "awslogs-region": ecs.region, "awslogs-stream-prefix": "app" },
      });
      // One ACTIVE revision per family: the one replaced is INACTIVE (a task still running on it would keep running).
      expect((await describe(task.taskDefinitionArn!.replace(/:2$/, ":1"))).status).toBe("INACTIVE");
      expect(
        calls("DeregisterTaskDefinition").map(
          (call) => (call.body as { taskDefinition: { taskDefinitionArn: string } }).taskDefinition.taskDefinitionArn,
        ),
      ).toEqual([task.taskDefinitionArn!.replace(/:2$/, ":1")]);
      await bigger.stop(alice.slug);
    },
  );

  test("GIVEN an app whose container exits WHEN the view refreshes THEN it is stopped and the next start runs a new task", async () => {
    const first = await start(backend, bob.slug);
    const task = await describeTask(bob.slug);
    docker(["kill", task.containers![0]!.runtimeId!]);
    const deadline = Date.now() + 20_000;
    while (backend.get(bob.slug)?.state !== "stopped") {
      if (Date.now() > deadline) throw new Error(`bob's app still ${backend.get(bob.slug)?.state} after its container was killed`);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await backend.refresh();
    }
    const exited = (await client.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: [task.taskArn!] }))).tasks![0]!;
    expect(exited.stopCode).toBe("EssentialContainerExited");
    expect(stoppedSeen).toContain(bob.slug);

    const second = await start(backend, bob.slug);
    expect(second.state).toBe("running");
    expect((await describeTask(bob.slug)).taskArn).not.toBe(task.taskArn);
    expect(await answers(second.upstream!)).toBe(200);
    expect(first.upstream).toBeDefined();
  });

  test("GIVEN a second task of one user (another spawner's) WHEN the view refreshes THEN only one keeps running", async () => {
    const kept = await describeTask(bob.slug);
    await client.send(
      new RunTaskCommand({
        cluster: CLUSTER,
        taskDefinition: kept.taskDefinitionArn,
        startedBy: bob.slug,
        group: "apps",
        launchType: "FARGATE",
        networkConfiguration: { awsvpcConfiguration: { subnets: [SUBNET.id], securityGroups: [SECURITY_GROUP] } },
      }),
    );
    await backend.refresh();
    const stops = calls("StopTask").filter((call) => (call.body as any).task?.stoppedReason === "duplicate app task");
    expect(stops).toHaveLength(1);
    expect((stops[0]!.body as any).task.taskArn).not.toBe(kept.taskArn);
    expect(backend.get(bob.slug)?.state).toBe("running");
  });

  test("GIVEN ECS throttles RunTask once THEN the start is retried and succeeds", async () => {
    standIn.failNext("RunTask", "ThrottlingException");
    const instance = await start(backend, carol.slug);
    expect(instance.state).toBe("running");
    expect(
      calls("RunTask")
        .slice(-2)
        .map((call) => call.status),
    ).toEqual([400, 200]);
  });

  test("GIVEN ECS refuses RunTask with a ClientException THEN the start fails with ECS's message", async () => {
    await backend.stop(carol.slug);
    standIn.failNext("RunTask", "ClientException", "TaskDefinition not found.");
    await expect(start(backend, carol.slug)).rejects.toThrow("ECS RunTask failed: ClientException: TaskDefinition not found.");
  });

  test("GIVEN a task that cannot start (its secret is missing) THEN the start fails naming the task's stoppedReason", async () => {
    await expect(start(backend, dave.slug)).rejects.toThrow(
      new RegExp(`the app task of ${dave.slug} .* stopped instead of running: ResourceInitializationError.*stop code TaskFailedToStart`),
    );
    expect(backend.get(dave.slug)).toEqual({ slug: dave.slug, state: "stopped" });
  });
});
