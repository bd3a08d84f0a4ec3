/**
 * ECS mode (config/example-ecs.yaml), synthesized once: the cluster and its capacity providers, the task security
 * groups, the execution role and the app and sandbox boundaries, the access-point-only EFS policy and the spawner's part of the host
 * role, the sandbox domain's private zone and the host's one permission in it; and the docker-mode example, which has
 * none of it.
 */
import { ecsExampleConfig, statement, statements, Template, type Json } from "../support/template";

const ecs = Template.synth(ecsExampleConfig());
const byName = (stack: "network" | "compute", type: string, name: string) => ecs.one(stack, type, (b) => b.name === name);
const groupRef = (name: string) => ecs.ref("network", "aws_security_group", "id", (b) => b.name === name);
const rulesOf = (kind: "ingress" | "egress", group: string) =>
  ecs.all("network", `aws_vpc_security_group_${kind}_rule`).filter((r) => r.security_group_id === groupRef(group));
const ports = (rules: Json[]) => rules.map((r) => (r.from_port === r.to_port ? r.from_port : `${r.from_port}-${r.to_port}`)).sort();

describe("GIVEN the ECS-mode example", () => {
  it("THEN the configuration keeps docker as the default and the ECS example asks for ecs on a smaller host", () => {
    expect(ecsExampleConfig().compute).toMatchObject({ mode: "ecs", instanceType: "m7g.large" });
    expect(ecsExampleConfig((raw) => delete raw.compute.mode).compute.mode).toBe("docker");
  });

  it("THEN the cluster has FARGATE and FARGATE_SPOT with FARGATE as the default strategy", () => {
    expect(ecs.one("compute", "aws_ecs_cluster").name).toBe("openhands-prod-users");
    const providers = ecs.one("compute", "aws_ecs_cluster_capacity_providers");
    expect(providers.capacity_providers).toEqual(["FARGATE", "FARGATE_SPOT"]);
    expect(providers.default_capacity_provider_strategy).toEqual([{ capacity_provider: "FARGATE", weight: 1, base: 0 }]);
    expect(ecs.one("compute", "aws_cloudwatch_log_group", (g) => g.name === "/openhands/prod/tasks").retention_in_days).toBe(30);
  });

  it("THEN apps admit port 3000 and sandboxes the four sandbox ports, each from the host's group only", () => {
    const host = groupRef("openhands-prod-host");
    expect(ports(rulesOf("ingress", "openhands-prod-apps"))).toEqual([3000]);
    expect(ports(rulesOf("ingress", "openhands-prod-sandboxes"))).toEqual([12000, 12001, 60000, 60001]);
    for (const rule of [...rulesOf("ingress", "openhands-prod-apps"), ...rulesOf("ingress", "openhands-prod-sandboxes")]) {
      expect(rule.referenced_security_group_id).toBe(host);
      expect(rule.cidr_ipv4).toBeUndefined();
    }
  });

  it("THEN apps send to Aurora, EFS, the host's relay, gateway, sandbox API and proxy, and 443; sandboxes never to Aurora", () => {
    const target = (r: Json) => r.referenced_security_group_id ?? r.cidr_ipv4;
    const apps = rulesOf("egress", "openhands-prod-apps").map((r) => `${r.from_port}-${r.to_port} ${target(r)}`);
    expect(apps.sort()).toEqual(
      [
        `5432-5432 ${groupRef("openhands-prod-database")}`,
        `2049-2049 ${groupRef("openhands-prod-efs")}`,
        `3000-3000 ${groupRef("openhands-prod-host")}`,
        `4000-4000 ${groupRef("openhands-prod-host")}`,
        `8082-8082 ${groupRef("openhands-prod-host")}`,
        `80-80 ${groupRef("openhands-prod-host")}`,
        "443-443 0.0.0.0/0",
      ].sort(),
    );
    const sandboxes = rulesOf("egress", "openhands-prod-sandboxes");
    expect(ports(sandboxes)).toEqual([2049, 3000, 4000, 443].sort());
    expect(sandboxes.map((r) => r.referenced_security_group_id)).not.toContain(groupRef("openhands-prod-database"));
    expect(ports(rulesOf("ingress", "openhands-prod-database"))).toEqual([5432, 5432]);
    expect(rulesOf("ingress", "openhands-prod-database").map((r) => r.referenced_security_group_id)).not.toContain(
      groupRef("openhands-prod-sandboxes"),
    );
  });

  it("THEN the EFS mount targets' group admits 2049 from the host, apps and sandboxes", () => {
    const sources = rulesOf("ingress", "openhands-prod-efs").map((r) => r.referenced_security_group_id);
    expect(sources.sort()).toEqual(
      [groupRef("openhands-prod-host"), groupRef("openhands-prod-apps"), groupRef("openhands-prod-sandboxes")].sort(),
    );
  });

  it("THEN the file system policy denies mounts without TLS, without IAM and without an access point, and the host has one", () => {
    const policy = ecs.one("data", "aws_efs_file_system_policy").policy as string;
    const denies = statements(policy).filter((s) => s.Effect === "Deny");
    expect(denies.map((s) => s.Condition)).toEqual([
      { Bool: { "aws:SecureTransport": "false" } },
      { Null: { "aws:PrincipalArn": "true" } },
      { Null: { "elasticfilesystem:AccessPointArn": "true" } },
    ]);
    expect(ecs.one("data", "aws_efs_access_point").root_directory).toEqual({ path: "/" });
    expect(ecs.one("data", "aws_efs_file_system").tags["openhands-team:compute-mode"]).toBe("ecs");
  });

  it("THEN the execution role pulls, logs to the task log group and reads only the users' secrets", () => {
    expect(byName("compute", "aws_iam_role", "openhands-prod-task-execution").assume_role_policy).toContain("ecs-tasks.amazonaws.com");
    const exec = ecs.one("compute", "aws_iam_role_policy", (p) => p.name === "task-execution").policy as string;
    expect(statement(exec, "UserDatabaseSecrets").Resource).toMatch(/:secret:openhands\/prod\/users\/\*$/);
    expect(statement(exec, "TaskLogs").Resource.join(" ")).toContain("aws_cloudwatch_log_group.user-tasks_task-logs");
  });

  it("THEN there is no shared app task role: the app boundary allows the docker app's S3 prefix and EFS through an access point", () => {
    expect(
      ecs
        .all("compute", "aws_iam_role")
        .map((r) => r.name)
        .sort(),
    ).toEqual(["openhands-prod-host", "openhands-prod-task-execution"]);
    const boundary = byName("compute", "aws_iam_policy", "openhands-prod-app-boundary");
    expect(statements(boundary.policy).map((s) => s.Sid)).toEqual(["EventsReadWrite", "EventsList", "WorkspacesThroughAccessPoint"]);
    expect(statement(boundary.policy, "EventsReadWrite").Action).toEqual(["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]);
    expect(statement(boundary.policy, "EventsReadWrite").Resource).toMatch(/\/users\/\*$/);
    expect(statement(boundary.policy, "EventsList").Condition).toEqual({ StringLike: { "s3:prefix": ["users/*"] } });
    expect(statement(boundary.policy, "WorkspacesThroughAccessPoint").Action).toEqual([
      "elasticfilesystem:ClientMount",
      "elasticfilesystem:ClientWrite",
      "elasticfilesystem:ClientRootAccess",
    ]);
    expect(statement(boundary.policy, "WorkspacesThroughAccessPoint").Condition).toEqual({
      Bool: { "elasticfilesystem:AccessedViaMountTarget": "true" },
      Null: { "elasticfilesystem:AccessPointArn": "false" },
    });
  });

  it("THEN the sandbox boundary allows the two EFS client actions and nothing else", () => {
    const boundary = byName("compute", "aws_iam_policy", "openhands-prod-sandbox-boundary");
    expect(statements(boundary.policy).flatMap((s) => s.Action)).toEqual([
      "elasticfilesystem:ClientMount",
      "elasticfilesystem:ClientWrite",
    ]);
  });

  it("THEN the spawner creates only bounded roles under /oh-app/ and /oh-sandbox/ and passes only task roles, only to ECS tasks", () => {
    const host = ecs.one("compute", "aws_iam_role_policy", (p) => p.name === "host").policy as string;
    for (const [sid, path, boundary] of [
      ["AppRolesBounded", "oh-app", "app-boundary"],
      ["SandboxRolesBounded", "oh-sandbox", "sandbox-boundary"],
    ] as const) {
      const bounded = statement(host, sid);
      expect(bounded.Action).toEqual(["iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy"]);
      expect(bounded.Resource).toMatch(new RegExp(`:role/${path}/\\*$`));
      expect(bounded.Condition.StringEquals["iam:PermissionsBoundary"]).toContain(`aws_iam_policy.task-roles_${boundary}`);
    }
    expect(statement(host, "AppRolesLifecycle").Action).toEqual(["iam:DeleteRole", "iam:GetRole"]);
    expect(statement(host, "AppRolesLifecycle").Resource).toMatch(/:role\/oh-app\/\*$/);
    const pass = statement(host, "PassTaskRoles");
    expect(pass.Condition).toEqual({ StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } });
    expect(pass.Resource).toHaveLength(3);
    expect(pass.Resource[0]).toContain("aws_iam_role.task-roles_execution-role");
    expect(pass.Resource.slice(1).map((r: string) => r.replace(/^.*:role/, ""))).toEqual(["/oh-app/*", "/oh-sandbox/*"]);
    expect(statement(host, "EcsRunUserTasks").Resource.map((r: string) => r.replace(/^.*task-definition\//, ""))).toEqual([
      "oh-app-*:*",
      "oh-sbx-*:*",
    ]);
    expect(statement(host, "EcsListUserTasks").Condition.ArnEquals["ecs:cluster"]).toContain("aws_ecs_cluster.user-tasks_cluster");
  });

  it("THEN the sandbox domain has a private zone in the VPC, which a destroy removes with the host's record in it", () => {
    const zone = ecs.one("compute", "aws_route53_zone");
    expect(zone).toMatchObject({ name: "sandboxes.openhands-prod.internal", force_destroy: true });
    expect(zone.vpc).toEqual([{ vpc_id: ecsExampleConfig().network.vpcId, vpc_region: "eu-central-1" }]);
    // Terraform writes no record in it (the ALB's certificate validation records are in the public zones)
    expect(ecs.all("compute", "aws_route53_record").map((r) => r.zone_id)).not.toContain(
      ecs.ref("compute", "aws_route53_zone", "zone_id", () => true),
    );
    const zoneId = ecs.ref("compute", "aws_route53_zone", "zone_id", () => true);
    expect((ecs.stack("compute").output.ecs.value as Json).sandbox_zone_id).toBe(zoneId);
    expect(JSON.parse(ecs.one("compute", "aws_ssm_parameter").value).ecs.sandboxZoneId).toBe(zoneId);
  });

  it("THEN the host may only UPSERT the A record *.<sandbox domain> in that zone (names as Route 53 normalizes them)", () => {
    const host = ecs.one("compute", "aws_iam_role_policy", (p) => p.name === "host").policy as string;
    const route53 = statements(host).filter((s) => JSON.stringify(s.Action).includes("route53:"));
    expect(route53.map((s) => s.Sid)).toEqual(["SandboxZoneHostRecord"]);
    const record = statement(host, "SandboxZoneHostRecord");
    expect(record.Action).toBe("route53:ChangeResourceRecordSets");
    expect(record.Resource).toBe(ecs.ref("compute", "aws_route53_zone", "arn", () => true));
    expect(record.Condition["ForAllValues:StringEquals"]).toEqual({
      "route53:ChangeResourceRecordSetsNormalizedRecordNames": ["\\052.sandboxes.openhands-prod.internal"],
      "route53:ChangeResourceRecordSetsRecordTypes": ["A"],
      "route53:ChangeResourceRecordSetsActions": ["UPSERT"],
    });
    expect(Object.values(record.Condition.Null)).toEqual(["false", "false", "false"]);
  });

  it("THEN the compute stack tells the operator (and the spawner's configuration) the ids of ECS mode", () => {
    const output = ecs.stack("compute").output.ecs.value as Json;
    expect(Object.keys(output).sort()).toEqual(
      [
        "app_security_group",
        "app_role_boundary_arn",
        "app_role_path",
        "cluster",
        "cluster_arn",
        "execution_role_arn",
        "file_system_id",
        "host_access_point_id",
        "sandbox_role_boundary_arn",
        "sandbox_role_path",
        "sandbox_security_group",
        "subnets",
        "task_log_group",
        "user_secret_prefix",
        "sandbox_zone_id",
      ].sort(),
    );
  });
});

describe("GIVEN the docker-mode example", () => {
  const docker = Template.synth();

  it("THEN nothing of ECS mode is synthesized and the file system keeps the host-only policy", () => {
    expect(docker.all("compute", "aws_ecs_cluster")).toEqual([]);
    expect(docker.all("compute", "aws_iam_policy")).toEqual([]);
    expect(docker.all("compute", "aws_route53_zone")).toEqual([]);
    expect(docker.one("compute", "aws_iam_role_policy", (p) => p.name === "host").policy).not.toContain("route53:");
    expect(docker.all("network", "aws_security_group").map((g) => g.name)).not.toContain("openhands-prod-sandboxes");
    expect(docker.all("data", "aws_efs_access_point")).toEqual([]);
    const policy = docker.one("data", "aws_efs_file_system_policy").policy as string;
    expect(statements(policy).map((s) => s.Sid)).toEqual(["DenyUnencryptedTransport"]);
  });
});
