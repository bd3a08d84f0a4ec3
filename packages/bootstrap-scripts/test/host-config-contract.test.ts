/**
 * The shell side of the host configuration contract (docs/CONTRACTS.md, "Host configuration"): the installer's jq checks
 * (HOST_CONFIG_CHECKS in files/host-bundle/steps/20-host-config.sh) against the contract's vector
 * (@openhands-team/contracts, vectors/host-config.json, and vectors/host-config-ecs.json for ECS mode) and the type's field lists.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HOST_CONFIGURATION_KEYS, HOST_ECS_KEYS, HOST_IMAGE_KEYS, HOST_LOG_GROUP_KEYS, HOST_SECRET_KEYS } from "@openhands-team/contracts";
import hostConfigEcsVector from "@openhands-team/contracts/vectors/host-config-ecs.json";
import hostConfigVector from "@openhands-team/contracts/vectors/host-config.json";

const STEP = join(__dirname, "..", "files", "host-bundle", "steps", "20-host-config.sh");
const jq = spawnSync("jq", ["--version"]).status === 0;
if (!jq) console.warn("\n!!! SKIPPED: the host configuration contract needs jq, which is not installed.\n");

type Json = Record<string, unknown>;
const scratch = mkdtempSync(join(tmpdir(), "oh-hostcfg-"));
let runs = 0;

function problems(document: unknown): { status: number | null; stdout: string; stderr: string } {
  const file = join(scratch, `config-${(runs += 1)}.json`);
  writeFileSync(file, JSON.stringify(document));
  return spawnSync("bash", ["-c", 'source "$1" && jq -r "$HOST_CONFIG_CHECKS" "$2"', "check", STEP, file], { encoding: "utf8" });
}

const without = (key: string, inner?: string): Json => {
  const copy = structuredClone(hostConfigVector.document) as Json;
  if (inner === undefined) delete copy[key];
  else delete (copy[key] as Json)[inner];
  return copy;
};

(jq ? describe : describe.skip)("GIVEN the contract's host configuration vector", () => {
  it("THEN the installer's checks report no problem", () => {
    const result = problems(hostConfigVector.document);
    expect(result.stderr).toBe("");
    expect(result.stdout.trim()).toBe("");
    expect(result.status).toBe(0);
  });

  it.each(HOST_CONFIGURATION_KEYS.map((key) => [key]))("WHEN the field %s is missing THEN the checks name it", (key) => {
    expect(problems(without(key)).stdout).toMatch(new RegExp(`^${key}[.:]`, "m"));
  });

  it.each([
    ...HOST_SECRET_KEYS.map((key) => ["secrets", key]),
    ...HOST_IMAGE_KEYS.map((key) => ["images", key]),
    ...HOST_LOG_GROUP_KEYS.map((key) => ["logGroups", key]),
  ])("WHEN %s.%s is missing THEN the checks name it", (outer, inner) => {
    expect(problems(without(outer, inner)).stdout).toContain(`${outer}.${inner}: `);
  });
});

(jq ? describe : describe.skip)("GIVEN the optional per-person LLM limits (bedrock.perUser)", () => {
  const withLimits = (perUser: unknown): Json => {
    const copy = structuredClone(hostConfigVector.document) as Json;
    (copy.bedrock as Json).perUser = perUser;
    return copy;
  };

  it("WHEN they are left out, or some are THEN no problem", () => {
    expect(problems(withLimits(undefined)).stdout.trim()).toBe("");
    expect(problems(withLimits({ tokensPerMinute: 100000 })).stdout.trim()).toBe("");
    // the largest values the infra configuration allows pass here too
    const largest = { requestsPerMinute: 100000, tokensPerMinute: 100000000, monthlySpendAlertUsd: 0.5 };
    expect(problems(withLimits(largest)).stdout.trim()).toBe("");
  });

  // Configuration injection: a value that reaches the compose .env must be a plain number.
  it.each([
    ["requestsPerMinute", 0, "a positive whole number"],
    ["requestsPerMinute", "30\nOH_IMAGE_LLM_GATEWAY=evil:1", "a positive whole number"],
    ["tokensPerMinute", 1.5, "a positive whole number"],
    ["monthlySpendAlertUsd", -5, "an amount in US dollars"],
    ["monthlySpendAlertUsd", "50 USD", "an amount in US dollars"],
  ])("WHEN %s is %j THEN the checks name it and say what is expected", (key, value, expected) => {
    const out = problems(withLimits({ [key]: value })).stdout;
    expect(out).toContain(`bedrock.perUser.${key}: `);
    expect(out).toContain(expected);
  });
});

(jq ? describe : describe.skip)("GIVEN the contract's ECS-mode host configuration vector (with its ecs section)", () => {
  const withEcs = (change: (ecs: Json) => void): Json => {
    const copy = structuredClone(hostConfigEcsVector.document) as Json;
    change(copy.ecs as Json);
    return copy;
  };

  it("THEN the installer's checks report no problem", () => {
    const result = problems(hostConfigEcsVector.document);
    expect(result.stderr).toBe("");
    expect(result.stdout.trim()).toBe("");
    expect(result.status).toBe(0);
  });

  it.each(HOST_ECS_KEYS.map((key) => [key]))("WHEN ecs.%s is missing THEN the checks name it", (key) => {
    expect(problems(withEcs((ecs) => delete ecs[key])).stdout).toMatch(new RegExp(`^ecs\\.${key}[.:]`, "m"));
  });

  // Configuration injection: the access point id goes into /etc/fstab's options, the rest into the spawner's configuration.
  it.each([
    ["hostAccessPointId", "fsap-0123456789abcdef0,nosuid 0 0\nfs-1:/ /etc efs", "an EFS access point id"],
    ["subnets", [], "a list of 1 to 16 subnet ids"],
    ["subnets", ["subnet-0123456789abcdef0", "subnet-x; reboot"], "a subnet id"],
    ["executionRoleArn", "arn:aws:iam::123456789012:policy/not-a-role", "an IAM role ARN"],
    ["sandboxRolePath", "oh-sandbox", "an IAM path"],
    // the app roles' boundary and path reach the spawner, which creates every user's app role with them
    ["appRoleBoundaryArn", "arn:aws:iam::123456789012:role/oh-test-app-task", "an IAM policy ARN"],
    ["appRoleBoundaryArn", "arn:aws:iam::123456789012:policy/oh-test-app-boundary\nother", "an IAM policy ARN"],
    ["appRoleBoundaryArn", "", "an IAM policy ARN"],
    ["appRolePath", "oh-app", "an IAM path"],
    ["appRolePath", "/oh-app", "an IAM path"],
    ["appRolePath", "/oh app/", "an IAM path"],
    ["userSecretPrefix", "oh/test/users", "a Secrets Manager name prefix ending in /"],
    ["sandboxDomain", "Sandboxes.Example", "a lower-case DNS name"],
    ["fileSystemId", "fs-0123456789abcdef1", "is not efsFileSystemId"],
    // the zone id reaches the aws command line of the host's DNS record (80-proxy-config.sh)
    ["sandboxZoneId", "/hostedzone/Z0123456789ABCDEFGHIJ", "a Route 53 zone id"],
    ["sandboxZoneId", "Z0123456789abcdefghij", "a Route 53 zone id"],
    ["sandboxZoneId", "Z0123456789ABCDEFGHIJ --endpoint-url https://evil.example.com", "a Route 53 zone id"],
    ["sandboxZoneId", "Z0123456789ABCDEFGHIJ\n", "a Route 53 zone id"],
    ["sandboxZoneId", `Z${"A".repeat(32)}`, "a Route 53 zone id"],
    ["sandboxZoneId", "Z", "a Route 53 zone id"],
    // the task subnets' CIDRs open the host firewall's task doors and bound the proxy's upstreams
    ["subnetCidrs", ["10.0.128.0/20"], "is not the list of the IPv4 CIDRs of ecs.subnets (one per subnet, in order)"],
    ["subnetCidrs", ["10.0.128.0/20", "10.0.144.0/20 -j ACCEPT"], "is not a private IPv4 CIDR from /16 to /28"],
    ["subnetCidrs", ["10.0.128.0/20", "203.0.113.0/24"], "is not a private IPv4 CIDR from /16 to /28"],
    ["subnetCidrs", ["10.0.0.0/8", "10.0.144.0/20"], "is not a private IPv4 CIDR from /16 to /28"],
    ["subnetCidrs", ["10.0.128.0/20", "10.0.144.0/29"], "is not a private IPv4 CIDR from /16 to /28"],
    ["subnetCidrs", ["10.0.128.0/20", "10.0.144.7/20"], "is not the network address of a subnet"],
    ["subnetCidrs", ["10.0.128.0/20", "192.168.0.0/20"], "lies outside the VPC (network.vpcCidrs)"],
  ])("WHEN ecs.%s is %j THEN the checks name it and say what is expected", (key, value, expected) => {
    const out = problems(withEcs((ecs) => (ecs[key] = value))).stdout;
    expect(out).toMatch(new RegExp(`^ecs\\.${key}[.:]`, "m"));
    expect(out).toContain(expected);
  });

  it("WHEN the task subnets lie in a second CIDR of the VPC, or span a whole /16 of it THEN no problem", () => {
    const copy = withEcs((ecs) => (ecs.subnetCidrs = ["10.1.0.0/16", "10.0.255.240/28"]));
    (copy.network as Json).vpcCidrs = ["10.0.0.0/16", "10.1.0.0/16"];
    expect(problems(copy).stdout.trim()).toBe("");
  });

  it("WHEN ecs is not an object THEN the checks say so", () => {
    const copy = structuredClone(hostConfigEcsVector.document) as Json;
    copy.ecs = "ecs";
    expect(problems(copy).stdout).toContain('ecs: "ecs" is not an object');
  });
});
