/**
 * Contract with packages/bootstrap-scripts: the host configuration this stack writes passes the installer's
 * own checks (HOST_CONFIG_CHECKS in files/host-bundle/steps/20-host-config.sh, a jq program) and has exactly the
 * fields of @openhands-team/contracts' HostConfiguration: without `ecs` in docker mode, with it (HostEcsConfiguration)
 * in ECS mode. Values that are Terraform references at synth time are replaced by values of the shape AWS returns.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HOST_CONFIGURATION_KEYS, HOST_ECS_KEYS } from "@openhands-team/contracts";
import { ecsExampleConfig, synthDeployment, type Json } from "../support/template";
import { only } from "../support/template";

const STEP = join(__dirname, "../../../../packages/bootstrap-scripts/files/host-bundle/steps/20-host-config.sh");
const ACCOUNT = "123456789012";
const secretArn = (name: string) => `arn:aws:secretsmanager:eu-central-1:${ACCOUNT}:secret:${name}-AbCdEf`;

/** What AWS returns where the synthesized JSON still holds a reference, by field path. */
const RESOLVED: Record<string, string> = {
  efsFileSystemId: "fs-0123456789abcdef0",
  eventsBucket: "openhands-prod-events-20261128123456789000000001",
  "database.host": "openhands-prod-aurora.cluster-abcdefghijkl.eu-central-1.rds.amazonaws.com",
  "database.masterSecretArn": secretArn("rds!cluster-0123abcd-4567-89ef-0123-456789abcdef"),
  "secrets.identitySigningKey": secretArn("openhands/prod/identity-signing-key"),
  "secrets.openhandsJwtSecret": secretArn("openhands/prod/openhands-jwt-secret"),
  "secrets.llmGatewayKey": secretArn("openhands/prod/llm-gateway-key"),
  "secrets.dbPasswordKey": secretArn("openhands/prod/db-password-key"),
  "logGroups.host": "/openhands/prod/host",
  "logGroups.proxy": "/openhands/prod/proxy",
  "logGroups.spawner": "/openhands/prod/spawner",
  "logGroups.apps": "/openhands/prod/apps",
  // ECS mode
  "ecs.cluster": "openhands-prod-users",
  "ecs.appSecurityGroup": "sg-0a1b2c3d4e5f60718",
  "ecs.sandboxSecurityGroup": "sg-08f7e6d5c4b3a2918",
  "ecs.executionRoleArn": `arn:aws:iam::${ACCOUNT}:role/openhands-prod-task-execution`,
  "ecs.fileSystemId": "fs-0123456789abcdef0",
  "ecs.hostAccessPointId": "fsap-0123456789abcdef0",
  "ecs.appRoleBoundaryArn": `arn:aws:iam::${ACCOUNT}:policy/openhands-prod-app-boundary`,
  "ecs.sandboxRoleBoundaryArn": `arn:aws:iam::${ACCOUNT}:policy/openhands-prod-sandbox-boundary`,
  "ecs.taskLogGroup": "/openhands/prod/tasks",
  "ecs.sandboxZoneId": "Z08123456ABCDEFGHIJKL",
  // the private subnets' CIDRs, read by the aws_subnet data sources (inside the example's VPC, 10.0.0.0/16)
  "ecs.subnetCidrs.0": "10.0.128.0/20",
  "ecs.subnetCidrs.1": "10.0.144.0/20",
};
const sorted = (keys: readonly string[]) => [...keys].sort();

function resolve(node: unknown, path: string, unresolved: string[]): unknown {
  if (typeof node === "string" && node.includes("${")) {
    if (RESOLVED[path] === undefined) unresolved.push(path);
    return RESOLVED[path] ?? node;
  }
  if (Array.isArray(node)) return node.map((v, i) => resolve(v, `${path}.${i}`, unresolved));
  if (node && typeof node === "object") {
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, resolve(v, path ? `${path}.${k}` : k, unresolved)]));
  }
  return node;
}

const check = (document: Json) => {
  const file = join(mkdtempSync(join(tmpdir(), "oh-hostcfg-")), "config.json");
  writeFileSync(file, JSON.stringify(document));
  return spawnSync("bash", ["-c", `source "$1" && jq -r "$HOST_CONFIG_CHECKS" "$2"`, "check", STEP, file], { encoding: "utf8" });
};

const jq = spawnSync("jq", ["--version"]).status === 0;
const ready = jq && existsSync(STEP);
if (!ready) console.warn(`\n!!! SKIPPING the host configuration contract: ${jq ? `${STEP} is missing` : "jq is not installed"}.\n`);

(ready ? describe : describe.skip)("GIVEN the host configuration of the example deployment", () => {
  const synth = synthDeployment();
  const unresolved: string[] = [];
  const config = resolve(JSON.parse(only(synth, "compute", "aws_ssm_parameter").value), "", unresolved) as Json;

  it("THEN its fields are exactly the contract's, with no ecs section (docker mode)", () => {
    expect(sorted(Object.keys(config))).toEqual(sorted(HOST_CONFIGURATION_KEYS));
  });

  it("THEN every reference is one this test knows how AWS resolves", () => {
    expect(unresolved).toEqual([]);
  });

  it("THEN the installer's checks report no problem", () => {
    const result = check(config);
    expect(result.stderr).toBe("");
    expect(result.stdout.trim()).toBe("");
    expect(result.status).toBe(0);
  });

  it("WHEN an image lost its tag THEN the installer's checks name it (the check can fail)", () => {
    const result = check({ ...config, images: { ...config.images, node: "docker.io/library/node" } });
    expect(result.stdout).toContain('images.node: "docker.io/library/node" is not an image');
  });
});

(ready ? describe : describe.skip)("GIVEN the host configuration of the ECS-mode example (config/example-ecs.yaml)", () => {
  const synth = synthDeployment(ecsExampleConfig());
  const written = JSON.parse(only(synth, "compute", "aws_ssm_parameter").value) as Json;
  const unresolved: string[] = [];
  const config = resolve(written, "", unresolved) as Json;

  it("THEN its fields are the contract's plus ecs, and ecs has exactly the contract's ECS fields", () => {
    expect(sorted(Object.keys(config))).toEqual(sorted([...HOST_CONFIGURATION_KEYS, "ecs"]));
    expect(sorted(Object.keys(config.ecs))).toEqual(sorted(HOST_ECS_KEYS));
  });

  it("THEN every reference is one this test knows how AWS resolves, and the installer's checks report no problem", () => {
    expect(unresolved).toEqual([]);
    const result = check(config);
    expect(result.stderr).toBe("");
    expect(result.stdout.trim()).toBe("");
    expect(result.status).toBe(0);
  });

  it("THEN ecs names the resources this deployment built (the cluster, roles, boundary, log group, groups, host access point)", () => {
    const ecs = written.ecs as Json;
    const compute = (type: string, attribute: string, name: string) => synth.ref("compute", type, attribute, (b) => b.name === name);
    expect(ecs.cluster).toBe(compute("aws_ecs_cluster", "name", "openhands-prod-users"));
    expect(ecs.executionRoleArn).toBe(compute("aws_iam_role", "arn", "openhands-prod-task-execution"));
    expect(ecs.appRoleBoundaryArn).toBe(compute("aws_iam_policy", "arn", "openhands-prod-app-boundary"));
    expect(ecs.sandboxRoleBoundaryArn).toBe(compute("aws_iam_policy", "arn", "openhands-prod-sandbox-boundary"));
    expect(ecs.taskLogGroup).toBe(compute("aws_cloudwatch_log_group", "name", "/openhands/prod/tasks"));
    expect(ecs.sandboxZoneId).toBe(synth.ref("compute", "aws_route53_zone", "zone_id", () => true));
    // the network and data stacks' resources, through their cross-stack outputs
    expect(ecs.appSecurityGroup).toMatch(
      /^\$\{data\.terraform_remote_state\.cross-stack-reference-input-network\..*task-security-groups_apps_/,
    );
    expect(ecs.sandboxSecurityGroup).toMatch(/^\$\{data\.terraform_remote_state\..*-network\..*task-security-groups_sandboxes_/);
    expect(ecs.hostAccessPointId).toMatch(/^\$\{data\.terraform_remote_state\.cross-stack-reference-input-data\..*host-access-point_/);
    expect(ecs.fileSystemId).toBe(written.efsFileSystemId);
    // one aws_subnet data source per configured subnet, read by id, its CIDR in the same place as the id in subnets
    const subnets = synth.stack("compute").data?.aws_subnet as Record<string, Json>;
    const subnetIds = ecsExampleConfig().network.privateSubnetIds;
    expect(ecs.subnetCidrs).toEqual(
      subnetIds.map((id) => {
        const names = Object.entries(subnets).filter(([, body]) => body.id === id);
        expect(names).toHaveLength(1);
        return `\${data.aws_subnet.${names[0]![0]}.cidr_block}`;
      }),
    );
    expect(ecs).toMatchObject({
      region: "eu-central-1",
      subnets: ecsExampleConfig().network.privateSubnetIds,
      appRolePath: "/oh-app/",
      sandboxRolePath: "/oh-sandbox/",
      userSecretPrefix: "openhands/prod/users/",
      deployment: "openhands-prod",
      sandboxDomain: "sandboxes.openhands-prod.internal",
    });
  });

  it("WHEN the host access point id is not one THEN the installer's checks name it (the check can fail)", () => {
    const result = check({ ...config, ecs: { ...config.ecs, hostAccessPointId: "fsap-1,nosuid" } });
    expect(result.stdout).toContain('ecs.hostAccessPointId: "fsap-1,nosuid" is not an EFS access point id');
  });

  it("WHEN the sandbox zone id is not a Route 53 zone id THEN the installer's checks name it (the check can fail)", () => {
    const result = check({ ...config, ecs: { ...config.ecs, sandboxZoneId: "/hostedzone/Z08123456ABCDEFGHIJKL" } });
    expect(result.stdout).toContain('ecs.sandboxZoneId: "/hostedzone/Z08123456ABCDEFGHIJKL" is not a Route 53 zone id');
  });

  it("WHEN AWS answers a subnet CIDR outside the VPC THEN the installer's checks name it (the check can fail)", () => {
    const result = check({ ...config, ecs: { ...config.ecs, subnetCidrs: ["10.0.128.0/20", "10.1.0.0/20"] } });
    expect(result.stdout).toContain('ecs.subnetCidrs.1: "10.1.0.0/20" lies outside the VPC');
  });
});
