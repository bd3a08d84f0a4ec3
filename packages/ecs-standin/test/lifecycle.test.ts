/**
 * The ECS stand-in's task lifecycle on a real Docker engine (docker-lab). Amazon ECS itself cannot run here; this
 * stand-in answers as the ECS API reference documents (see README.md), and these tests hold it to those shapes.
 */
import { describeWithEngine, docker } from "@openhands-team/docker-lab";
import type { EcsStandIn } from "../src";
import { appDefinition, awsvpc, CLUSTER, containersLabelled, ecs, eventually, SUBNET, startStandIn, taskWhen } from "./support";

describeWithEngine("ECS stand-in: task lifecycle on a real Docker engine", () => {
  let standIn: EcsStandIn;
  let endpoint: string;

  beforeAll(async () => {
    standIn = await startStandIn();
    endpoint = standIn.endpoint;
  });

  afterAll(async () => {
    await standIn?.close();
  });

  test("RunTask starts the definition's container on the subnet's network, with overrides and limits; StopTask stops it", async () => {
    // GIVEN a registered Fargate task definition
    const registered = await ecs(endpoint, "RegisterTaskDefinition", appDefinition("oh-app"));
    expect(registered.status).toBe(200);
    expect(registered.body.taskDefinition).toMatchObject({ family: "oh-app", revision: 1, status: "ACTIVE", cpu: "256", memory: "512" });
    expect(registered.body.taskDefinition.taskDefinitionArn).toBe(
      `arn:aws:ecs:${standIn.region}:${standIn.accountId}:task-definition/oh-app:1`,
    );

    // WHEN a task runs with startedBy, a group and an environment override
    const run = await ecs(endpoint, "RunTask", {
      cluster: CLUSTER,
      taskDefinition: "oh-app",
      startedBy: "abcdefghijklmnop",
      group: "apps",
      capacityProviderStrategy: [{ capacityProvider: "FARGATE", weight: 1 }],
      networkConfiguration: awsvpc(),
      overrides: { containerOverrides: [{ name: "app", environment: [{ name: "GREETING", value: "overridden" }] }] },
    });

    // THEN RunTask answers at once with the task provisioning and its network interface not yet attached
    expect(run.status).toBe(200);
    expect(run.body.failures).toEqual([]);
    const started = run.body.tasks[0];
    expect(started).toMatchObject({
      lastStatus: "PROVISIONING",
      desiredStatus: "RUNNING",
      startedBy: "abcdefghijklmnop",
      group: "apps",
      launchType: "FARGATE",
      capacityProviderName: "FARGATE",
      taskDefinitionArn: registered.body.taskDefinition.taskDefinitionArn,
      clusterArn: `arn:aws:ecs:${standIn.region}:${standIn.accountId}:cluster/${CLUSTER}`,
    });
    expect(started.taskArn).toMatch(new RegExp(`^arn:aws:ecs:${standIn.region}:${standIn.accountId}:task/${CLUSTER}/[0-9a-f]{32}$`));
    expect(started.attachments[0]).toMatchObject({ type: "ElasticNetworkInterface", status: "PRECREATED" });
    expect(started.attachments[0].details).toEqual([{ name: "subnetId", value: SUBNET.id }]);

    // AND it becomes RUNNING with the ENI's private address, which serves the overridden environment
    const running = await taskWhen(endpoint, started.taskArn, (task) => task.lastStatus === "RUNNING", "RUNNING");
    const details = Object.fromEntries(running.attachments[0].details.map((d: { name: string; value: string }) => [d.name, d.value]));
    expect(running.attachments[0].status).toBe("ATTACHED");
    expect(details.privateIPv4Address).toMatch(/^10\.251\.1\.\d+$/);
    // never one of the addresses a VPC keeps (.0 to .3 and the last)
    expect(Number(details.privateIPv4Address.split(".")[3])).toBeGreaterThanOrEqual(4);
    expect(running.containers[0].networkInterfaces).toEqual([
      { attachmentId: running.attachments[0].id, privateIpv4Address: details.privateIPv4Address },
    ]);
    expect(running.connectivity).toBe("CONNECTED");
    expect(typeof running.startedAt).toBe("number");
    const reply = await eventually(async () => {
      try {
        return await (await fetch(`http://${details.privateIPv4Address}:3000/`)).text();
      } catch {
        return undefined;
      }
    }, "the task's HTTP server");
    expect(reply).toBe("overridden");

    // AND the container carries the task's size as Docker limits and the ECS agent's labels
    const [inspected] = JSON.parse(docker(["inspect", running.containers[0].runtimeId]).stdout);
    expect(inspected.HostConfig.Memory).toBe(512 * 1024 * 1024);
    expect(inspected.HostConfig.NanoCpus).toBe(250_000_000);
    expect(inspected.Config.Labels["com.amazonaws.ecs.task-arn"]).toBe(started.taskArn);
    expect(inspected.Config.Labels["com.amazonaws.ecs.container-name"]).toBe("app");

    // WHEN the task is stopped with a reason
    const stop = await ecs(endpoint, "StopTask", { cluster: CLUSTER, task: started.taskArn, reason: "idle cull" });

    // THEN StopTask answers with the desired status STOPPED while the task still runs, and the task stops
    expect(stop.status).toBe(200);
    expect(stop.body.task).toMatchObject({ desiredStatus: "STOPPED", stoppedReason: "idle cull", stopCode: "UserInitiated" });
    expect(stop.body.task.lastStatus).not.toBe("STOPPED");
    const stopped = await taskWhen(endpoint, started.taskArn, (task) => task.lastStatus === "STOPPED", "STOPPED");
    expect(stopped).toMatchObject({ stopCode: "UserInitiated", stoppedReason: "idle cull" });
    expect(stopped.containers[0]).toMatchObject({ lastStatus: "STOPPED", exitCode: 0 });
    expect(stopped.attachments[0].status).toBe("DELETED");
    for (const key of ["stoppingAt", "executionStoppedAt", "stoppedAt"]) expect(typeof stopped[key]).toBe("number");
    expect(containersLabelled(`com.amazonaws.ecs.task-arn=${started.taskArn}`)).toEqual([]);

    // AND ListTasks shows it only among the STOPPED tasks
    const runningList = await ecs(endpoint, "ListTasks", { cluster: CLUSTER, startedBy: "abcdefghijklmnop" });
    expect(runningList.body.taskArns).toEqual([]);
    const stoppedList = await ecs(endpoint, "ListTasks", { cluster: CLUSTER, startedBy: "abcdefghijklmnop", desiredStatus: "STOPPED" });
    expect(stoppedList.body.taskArns).toEqual([started.taskArn]);
  });

  test("a killed essential container stops its task with EssentialContainerExited and the exit code", async () => {
    await ecs(endpoint, "RegisterTaskDefinition", appDefinition("oh-killed"));
    const run = await ecs(endpoint, "RunTask", { cluster: CLUSTER, taskDefinition: "oh-killed", networkConfiguration: awsvpc() });
    const taskArn = run.body.tasks[0].taskArn;
    const running = await taskWhen(endpoint, taskArn, (task) => task.lastStatus === "RUNNING", "RUNNING");

    docker(["kill", running.containers[0].runtimeId]);

    const stopped = await taskWhen(endpoint, taskArn, (task) => task.lastStatus === "STOPPED", "STOPPED after the kill");
    expect(stopped).toMatchObject({
      desiredStatus: "STOPPED",
      stopCode: "EssentialContainerExited",
      stoppedReason: "Essential container in task exited",
    });
    expect(stopped.containers[0]).toMatchObject({ lastStatus: "STOPPED", exitCode: 137 });
  });

  test("a container that exits by itself stops its task with its exit code", async () => {
    await ecs(
      endpoint,
      "RegisterTaskDefinition",
      appDefinition("oh-exits", { command: ["node", "-e", "setTimeout(() => process.exit(3), 300)"] }),
    );
    const run = await ecs(endpoint, "RunTask", { cluster: CLUSTER, taskDefinition: "oh-exits:1", networkConfiguration: awsvpc() });

    const stopped = await taskWhen(endpoint, run.body.tasks[0].taskArn, (task) => task.lastStatus === "STOPPED", "STOPPED");

    expect(stopped.stopCode).toBe("EssentialContainerExited");
    expect(stopped.containers[0].exitCode).toBe(3);
  });

  test("an image the engine does not have fails the start with CannotPullContainerError", async () => {
    await ecs(endpoint, "RegisterTaskDefinition", appDefinition("oh-noimage", { image: "localhost:1/nothing/here:1" }));
    const run = await ecs(endpoint, "RunTask", { cluster: CLUSTER, taskDefinition: "oh-noimage", networkConfiguration: awsvpc() });

    const stopped = await taskWhen(endpoint, run.body.tasks[0].taskArn, (task) => task.lastStatus === "STOPPED", "STOPPED");

    expect(stopped.stopCode).toBe("TaskFailedToStart");
    expect(stopped.stoppedReason).toMatch(/^CannotPullContainerError: /);
    expect(stopped.containers[0].reason).toMatch(/^CannotPullContainerError: /);
  });

  test("close() removes the stand-in's containers and networks", async () => {
    // GIVEN a second stand-in with a running task
    const other = await startStandIn({ subnets: [{ id: "subnet-0fedcba987654321", cidr: "10.251.2.0/24" }] });
    const network = other.networkOf("subnet-0fedcba987654321");
    await ecs(other.endpoint, "RegisterTaskDefinition", appDefinition("oh-close"));
    const run = await ecs(other.endpoint, "RunTask", {
      cluster: CLUSTER,
      taskDefinition: "oh-close",
      networkConfiguration: awsvpc(["subnet-0fedcba987654321"]),
    });
    const taskArn = run.body.tasks[0].taskArn;
    await taskWhen(other.endpoint, taskArn, (task) => task.lastStatus === "RUNNING", "RUNNING");
    expect(containersLabelled(`com.amazonaws.ecs.task-arn=${taskArn}`)).toHaveLength(2);

    // WHEN it closes
    await other.close();

    // THEN the task's containers (the app and the network owner) and the subnet's network are gone
    expect(containersLabelled(`com.amazonaws.ecs.task-arn=${taskArn}`)).toEqual([]);
    expect(docker(["network", "inspect", network], { allowFailure: true }).status).not.toBe(0);
  });
  test("close() right after StopTask waits out the stops' own removals instead of failing on Docker's 409", async () => {
    // GIVEN a third stand-in with three running tasks, each just told to stop (their removals are under way)
    const subnet = "subnet-0aaaabbbbccccdddd";
    const other = await startStandIn({ subnets: [{ id: subnet, cidr: "10.251.3.0/24" }] });
    await ecs(other.endpoint, "RegisterTaskDefinition", appDefinition("oh-race")); // stopTimeout 2 s
    const run = await ecs(other.endpoint, "RunTask", {
      cluster: CLUSTER,
      taskDefinition: "oh-race",
      count: 3,
      networkConfiguration: awsvpc([subnet]),
    });
    const arns: string[] = run.body.tasks.map((task: { taskArn: string }) => task.taskArn);
    for (const arn of arns) await taskWhen(other.endpoint, arn, (task) => task.lastStatus === "RUNNING", "RUNNING");
    await Promise.all(arns.map((task) => ecs(other.endpoint, "StopTask", { cluster: CLUSTER, task })));

    // WHEN it closes at once THEN close() resolves and every container is gone
    await expect(other.close()).resolves.toBeUndefined();
    for (const arn of arns) expect(containersLabelled(`com.amazonaws.ecs.task-arn=${arn}`)).toEqual([]);
  });
});
