/**
 * The ECS stand-in's answers to bad and edge-case calls: the error shapes (`__type` and `message`, HTTP 400 or 500),
 * `failures` entries, ListTasks filters and paging, and injected service faults. Amazon ECS cannot run here; each
 * expectation is the answer the ECS API reference (or the error text ECS is known to give) documents, so the stand-in
 * is never kinder than ECS.
 */
import { describeWithEngine } from "@openhands-team/docker-lab";
import type { EcsStandIn } from "../src";
import { appDefinition, awsvpc, CLUSTER, ecs, SUBNET, startStandIn, taskWhen } from "./support";

const AWSLOGS = {
  logDriver: "awslogs",
  options: { "awslogs-group": "/oh/test/tasks", "awslogs-region": "eu-central-1", "awslogs-stream-prefix": "app" },
};

/** A Fargate app definition (test/support.ts) whose container has this log configuration and an execution role. */
function logging(logConfiguration: Record<string, unknown>): Record<string, unknown> {
  return {
    ...appDefinition("oh-logs", { logConfiguration }),
    executionRoleArn: "arn:aws:iam::123456789012:role/oh-exec",
  };
}

describeWithEngine("ECS stand-in: errors, failures and filters", () => {
  let standIn: EcsStandIn;
  let endpoint: string;

  beforeAll(async () => {
    standIn = await startStandIn();
    endpoint = standIn.endpoint;
    expect((await ecs(endpoint, "RegisterTaskDefinition", appDefinition("oh-api"))).status).toBe(200);
  });

  afterAll(async () => {
    await standIn?.close();
  });

  const run = (body: Record<string, unknown>) =>
    ecs(endpoint, "RunTask", { cluster: CLUSTER, taskDefinition: "oh-api", networkConfiguration: awsvpc(), ...body });

  test.each([
    ["an unknown task definition", { taskDefinition: "nope" }, "ClientException", "TaskDefinition not found."],
    ["an unknown revision", { taskDefinition: "oh-api:9" }, "ClientException", "TaskDefinition not found."],
    ["a cluster that does not exist", { cluster: "elsewhere" }, "ClusterNotFoundException", "Cluster not found."],
    ["no cluster (the default cluster does not exist here)", { cluster: undefined }, "ClusterNotFoundException", "Cluster not found."],
    ["more than 10 tasks", { count: 11 }, "InvalidParameterException", "Task count can not be greater than 10"],
    [
      "no network configuration for an awsvpc definition",
      { networkConfiguration: undefined },
      "InvalidParameterException",
      "Network Configuration must be provided when networkMode 'awsvpc' is specified.",
    ],
    [
      "a subnet that does not exist",
      { networkConfiguration: awsvpc(["subnet-00000000"]) },
      "InvalidParameterException",
      "Error retrieving subnet information for [subnet-00000000]: " +
        "The subnet ID 'subnet-00000000' does not exist (ErrorCode: InvalidSubnetID.NotFound)",
    ],
    [
      "a security group that does not exist",
      { networkConfiguration: awsvpc([SUBNET.id], ["sg-00000000"]) },
      "InvalidParameterException",
      "Error retrieving security group information for [sg-00000000]: " +
        "The security group 'sg-00000000' does not exist (ErrorCode: InvalidGroup.NotFound)",
    ],
    [
      "an override for a container the definition does not have",
      { overrides: { containerOverrides: [{ name: "intruder", command: ["sh"] }] } },
      "InvalidParameterException",
      "Override for container named intruder is not a container in the TaskDefinition.",
    ],
    [
      "a launch type and a capacity provider strategy together",
      { launchType: "FARGATE", capacityProviderStrategy: [{ capacityProvider: "FARGATE_SPOT", weight: 1 }] },
      "InvalidParameterException",
      "Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.",
    ],
    ["a count that is not an integer", { count: "2" }, "SerializationException", 'count: expected an integer, got "2"'],
  ])("RunTask with %s is refused as ECS refuses it", async (_case, body, type, message) => {
    const answer = await run(body);
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ __type: type, message });
    expect(standIn.calls.at(-1)).toMatchObject({ operation: "RunTask", status: 400 });
  });

  test("a bad override refuses the whole RunTask: no task of the batch starts", async () => {
    const answer = await run({
      count: 2,
      startedBy: "partial",
      overrides: { containerOverrides: [{ name: "app", environment: [{ name: "X", value: 1 }] }] },
    });
    expect(answer.status).toBe(400);
    expect(answer.body.__type).toBe("SerializationException");
    expect(answer.body.message).toMatch(/^overrides\.containerOverrides\[app\]\.environment\[0\]\.value: expected a string/);
    expect((await ecs(endpoint, "ListTasks", { cluster: CLUSTER, startedBy: "partial" })).body.taskArns).toEqual([]);
  });

  test("RunTask on the EC2 launch type answers a failure, not a task: the cluster has no container instances", async () => {
    const answer = await run({ launchType: "EC2" });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      tasks: [],
      failures: [
        {
          arn: `arn:aws:ecs:${standIn.region}:${standIn.accountId}:cluster/${CLUSTER}`,
          reason: "No Container Instances were found in your cluster.",
        },
      ],
    });
  });

  test.each([
    ["Fargate with the bridge network mode", { networkMode: "bridge" }, "Fargate only supports network mode 'awsvpc'."],
    ["Fargate without a task-level cpu", { cpu: undefined }, "Fargate requires that 'cpu' be defined at the task level."],
    [
      "a cpu and memory pair Fargate does not offer",
      { cpu: "256", memory: "4096" },
      "No Fargate configuration exists for given values: 256 CPU, 4096 memory.",
    ],
    ["a container without an image", { containerDefinitions: [{ name: "app" }] }, "Container.image should not be null or empty."],
    ["no containers", { containerDefinitions: [] }, "Container list cannot be empty."],
    ["a family with a slash", { family: "a/b" }, 'Family "a/b" is invalid: up to 255 letters, numbers, hyphens and underscores.'],
    [
      "a log driver Fargate does not offer",
      logging({ logDriver: "json-file" }),
      'Log driver "json-file" is not supported on Fargate (awslogs, splunk, awsfirelens).',
    ],
    [
      "awslogs without a stream prefix (required on Fargate)",
      logging({ logDriver: "awslogs", options: { "awslogs-group": "/oh/test/tasks", "awslogs-region": "eu-central-1" } }),
      "Log driver awslogs option 'awslogs-stream-prefix' should not be null or empty.",
    ],
    [
      "awslogs without an execution role to write the logs",
      { ...logging(AWSLOGS), executionRoleArn: undefined },
      "Fargate requires task definition to have execution role ARN to support log driver awslogs.",
    ],
  ])("RegisterTaskDefinition with %s answers ClientException", async (_case, change, message) => {
    const answer = await ecs(endpoint, "RegisterTaskDefinition", { ...appDefinition("oh-bad"), ...change });
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ __type: "ClientException", message });
  });

  test("RegisterTaskDefinition keeps a complete awslogs configuration and echoes it", async () => {
    const answer = await ecs(endpoint, "RegisterTaskDefinition", {
      ...logging(AWSLOGS),
      executionRoleArn: `arn:aws:iam::${standIn.accountId}:role/oh-exec`,
    });
    expect(answer.status).toBe(200);
    expect(answer.body.taskDefinition.containerDefinitions[0].logConfiguration).toEqual(AWSLOGS);
  });

  test("revisions count up per family; a deregistered revision cannot run, and the family alone finds the latest ACTIVE one", async () => {
    const first = await ecs(endpoint, "RegisterTaskDefinition", appDefinition("oh-revs"));
    const second = await ecs(endpoint, "RegisterTaskDefinition", appDefinition("oh-revs"));
    expect([first.body.taskDefinition.revision, second.body.taskDefinition.revision]).toEqual([1, 2]);

    const deregistered = await ecs(endpoint, "DeregisterTaskDefinition", { taskDefinition: "oh-revs:2" });
    expect(deregistered.body.taskDefinition).toMatchObject({ status: "INACTIVE", revision: 2 });
    expect(typeof deregistered.body.taskDefinition.deregisteredAt).toBe("number");

    expect((await run({ taskDefinition: "oh-revs:2" })).body).toEqual({ __type: "ClientException", message: "TaskDefinition is inactive" });
    const described = await ecs(endpoint, "DescribeTaskDefinition", { taskDefinition: "oh-revs" });
    expect(described.body.taskDefinition.revision).toBe(1);
    const byArn = await ecs(endpoint, "DescribeTaskDefinition", { taskDefinition: second.body.taskDefinition.taskDefinitionArn });
    expect(byArn.body.taskDefinition.status).toBe("INACTIVE");

    const noRevision = await ecs(endpoint, "DeregisterTaskDefinition", { taskDefinition: "oh-revs" });
    expect(noRevision.body.__type).toBe("InvalidParameterException");
    const unknown = await ecs(endpoint, "DescribeTaskDefinition", { taskDefinition: "oh-none" });
    expect(unknown.body).toEqual({ __type: "ClientException", message: "Unable to describe task definition." });
  });

  test("DescribeTasks answers unknown tasks as failures with reason MISSING; StopTask refuses them", async () => {
    const id = "0123456789abcdef0123456789abcdef";
    const foreign = `arn:aws:ecs:${standIn.region}:${standIn.accountId}:task/other/${id}`;

    const described = await ecs(endpoint, "DescribeTasks", { cluster: CLUSTER, tasks: [id, foreign] });

    expect(described.status).toBe(200);
    expect(described.body).toEqual({
      tasks: [],
      failures: [
        { arn: `arn:aws:ecs:${standIn.region}:${standIn.accountId}:task/${CLUSTER}/${id}`, reason: "MISSING" },
        { arn: foreign, reason: "MISSING" },
      ],
    });
    expect((await ecs(endpoint, "DescribeTasks", { cluster: CLUSTER, tasks: [] })).body).toEqual({
      __type: "InvalidParameterException",
      message: "Tasks cannot be empty.",
    });
    expect((await ecs(endpoint, "StopTask", { cluster: CLUSTER, task: id })).body).toEqual({
      __type: "InvalidParameterException",
      message: "The referenced task was not found.",
    });
  });

  test("ListTasks filters by startedBy, family and desired status, and pages with nextToken", async () => {
    // GIVEN two tasks started by one user and one by another, of another family
    await ecs(endpoint, "RegisterTaskDefinition", appDefinition("oh-sandbox"));
    const mine = await run({ startedBy: "user-a", count: 2 });
    const theirs = await ecs(endpoint, "RunTask", {
      cluster: CLUSTER,
      taskDefinition: "oh-sandbox",
      startedBy: "user-b",
      networkConfiguration: awsvpc(),
    });
    const mineArns = mine.body.tasks.map((task: { taskArn: string }) => task.taskArn).sort();
    const theirArn = theirs.body.tasks[0].taskArn;

    // THEN each filter finds exactly its tasks
    const byStarter = await ecs(endpoint, "ListTasks", { cluster: CLUSTER, startedBy: "user-a" });
    expect(byStarter.body.taskArns.sort()).toEqual(mineArns);
    const byFamily = await ecs(endpoint, "ListTasks", { cluster: CLUSTER, family: "oh-sandbox" });
    expect(byFamily.body.taskArns).toEqual([theirArn]);
    expect((await ecs(endpoint, "ListTasks", { cluster: CLUSTER, desiredStatus: "PENDING" })).body.taskArns).toEqual([]);
    const combined = await ecs(endpoint, "ListTasks", { cluster: CLUSTER, startedBy: "user-a", family: "oh-api" });
    expect(combined.body.__type).toBe("InvalidParameterException");

    // AND pages of one walk the same tasks
    const first = await ecs(endpoint, "ListTasks", { cluster: CLUSTER, startedBy: "user-a", maxResults: 1 });
    expect(first.body.taskArns).toHaveLength(1);
    const second = await ecs(endpoint, "ListTasks", {
      cluster: CLUSTER,
      startedBy: "user-a",
      maxResults: 1,
      nextToken: first.body.nextToken,
    });
    expect([...first.body.taskArns, ...second.body.taskArns].sort()).toEqual(mineArns);
    expect(second.body.nextToken).toBeUndefined();
    const badToken = await ecs(endpoint, "ListTasks", { cluster: CLUSTER, nextToken: "not-a-token" });
    expect(badToken.body.__type).toBe("InvalidParameterException");

    for (const arn of [...mineArns, theirArn]) await ecs(endpoint, "StopTask", { cluster: CLUSTER, task: arn });
    for (const arn of [...mineArns, theirArn]) await taskWhen(endpoint, arn, (task) => task.lastStatus === "STOPPED", "STOPPED");
    expect(
      (await ecs(endpoint, "ListTasks", { cluster: CLUSTER, startedBy: "user-a", desiredStatus: "STOPPED" })).body.taskArns,
    ).toHaveLength(2);
  });

  test("DescribeTasks includes tags only when asked", async () => {
    const started = await run({ tags: [{ key: "owner", value: "user-c" }] });
    const arn = started.body.tasks[0].taskArn;
    const plain = await ecs(endpoint, "DescribeTasks", { cluster: CLUSTER, tasks: [arn] });
    expect(plain.body.tasks[0].tags).toBeUndefined();
    const tagged = await ecs(endpoint, "DescribeTasks", { cluster: CLUSTER, tasks: [arn], include: ["TAGS"] });
    expect(tagged.body.tasks[0].tags).toEqual([{ key: "owner", value: "user-c" }]);
    await ecs(endpoint, "StopTask", { cluster: CLUSTER, task: arn });
  });

  test("injected service faults answer once with their documented shape and status", async () => {
    standIn.failNext("ListTasks", "ThrottlingException");
    standIn.failNext("ListTasks", "ServerException");
    standIn.failNext("ListTasks", "AccessDeniedException");

    const throttled = await ecs(endpoint, "ListTasks", { cluster: CLUSTER });
    const failed = await ecs(endpoint, "ListTasks", { cluster: CLUSTER });
    const denied = await ecs(endpoint, "ListTasks", { cluster: CLUSTER });
    const fine = await ecs(endpoint, "ListTasks", { cluster: CLUSTER });

    expect(throttled).toEqual({ status: 400, body: { __type: "ThrottlingException", message: "Rate exceeded" } });
    expect(failed.status).toBe(500);
    expect(failed.body.__type).toBe("ServerException");
    expect(denied.status).toBe(400);
    expect(denied.body.__type).toBe("AccessDeniedException");
    expect(denied.body.message).toMatch(/is not authorized to perform: ecs:ListTasks/);
    expect(fine.status).toBe(200);
  });

  test("the protocol: an unsigned call, an unknown operation and a body that is not JSON are refused", async () => {
    const unsigned = await ecs(endpoint, "ListTasks", { cluster: CLUSTER }, { authorization: "" });
    expect(unsigned).toEqual({
      status: 400,
      body: { __type: "MissingAuthenticationTokenException", message: "Missing Authentication Token" },
    });

    const unknown = await ecs(endpoint, "DeleteCluster", { cluster: CLUSTER });
    expect(unknown.status).toBe(400);
    expect(unknown.body.__type).toBe("UnknownOperationException");

    const garbled = await ecs(endpoint, "ListTasks", "{not json");
    expect(garbled).toEqual({ status: 400, body: { __type: "SerializationException", message: "The request body is not JSON." } });

    const res = await fetch(`${endpoint}/`, {
      method: "POST",
      headers: { "x-amz-target": "AmazonEC2ContainerServiceV20141113.ListTasks" },
    });
    expect(res.headers.get("content-type")).toBe("application/x-amz-json-1.1");
    expect(res.headers.get("x-amzn-requestid")).toMatch(/^[0-9a-f-]{36}$/);
  });
});
