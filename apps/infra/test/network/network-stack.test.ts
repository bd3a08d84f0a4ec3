import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatSummary, synthesize } from "../../src/synth";
import { exampleConfig, named, synthDeployment, withEveryOption, type Json } from "../support/template";

const rules = (synth: ReturnType<typeof synthDeployment>, type: string) => Object.entries(synth.resources("network", type));
const rule = (synth: ReturnType<typeof synthDeployment>, type: string, prefix: string): Json =>
  named(synth, "network", type, `security-groups_${prefix}`);
const groupRef = (key: string) =>
  expect.stringMatching(new RegExp(`^\\$\\{aws_security_group\\.security-groups_${key}_[A-F0-9]+\\.id\\}$`));

describe("GIVEN the example configuration (eu-central-1)", () => {
  const synth = synthDeployment();

  it("THEN there is one security group per purpose, each in the configured VPC with a description", () => {
    const groups = Object.values(synth.resources("network", "aws_security_group"));
    expect(groups.map((g) => g.name).sort()).toEqual([
      "openhands-prod-alb",
      "openhands-prod-database",
      "openhands-prod-efs",
      "openhands-prod-endpoints",
      "openhands-prod-host",
    ]);
    for (const group of groups) {
      expect(group.vpc_id).toBe("vpc-0123456789abcdef0");
      expect(group.description.length).toBeGreaterThan(10);
      expect(group.ingress).toBeUndefined();
      expect(group.egress).toBeUndefined();
    }
  });

  it("THEN the ALB admits HTTPS from CloudFront's origin-facing prefix list of eu-central-1 and nothing else", () => {
    const ingress = rules(synth, "aws_vpc_security_group_ingress_rule").filter(([name]) => name.includes("_alb-from-"));
    expect(ingress).toHaveLength(1);
    const [, alb] = ingress[0]!;
    expect(alb.prefix_list_id).toBe("pl-a3a144ca");
    expect([alb.from_port, alb.to_port, alb.ip_protocol]).toEqual([443, 443, "tcp"]);
    expect(alb.security_group_id).toEqual(groupRef("alb"));
    expect(alb.cidr_ipv4).toBeUndefined();
  });

  it("THEN the ALB may only talk to the host, on the proxy port", () => {
    const out = rule(synth, "aws_vpc_security_group_egress_rule", "alb-to-host");
    expect([out.from_port, out.to_port]).toEqual([8080, 8080]);
    expect(out.referenced_security_group_id).toEqual(groupRef("host"));
  });

  it("THEN the host admits only the ALB on 8080; Aurora, EFS and the endpoints admit only the host", () => {
    const expectations: [string, string, number, string][] = [
      ["host-from-alb", "host", 8080, "alb"],
      ["database-from-host", "database", 5432, "host"],
      ["efs-from-host", "efs", 2049, "host"],
      ["endpoints-from-host", "endpoints", 443, "host"],
    ];
    for (const [key, target, port, source] of expectations) {
      const r = rule(synth, "aws_vpc_security_group_ingress_rule", key);
      expect(r.security_group_id).toEqual(groupRef(target));
      expect(r.referenced_security_group_id).toEqual(groupRef(source));
      expect([r.from_port, r.to_port, r.ip_protocol]).toEqual([port, port, "tcp"]);
    }
    expect(rules(synth, "aws_vpc_security_group_ingress_rule")).toHaveLength(5);
  });

  it("THEN no ingress rule is open to the internet and the only open egress is the host's", () => {
    for (const [, r] of rules(synth, "aws_vpc_security_group_ingress_rule")) expect(r.cidr_ipv4).toBeUndefined();
    const open = rules(synth, "aws_vpc_security_group_egress_rule").filter(([, r]) => r.cidr_ipv4 === "0.0.0.0/0");
    expect(open.map(([name]) => name)).toEqual([expect.stringContaining("host-to-anywhere")]);
  });

  it("THEN without route tables no endpoint is created (a gateway endpoint without routes carries nothing), nor flow logs", () => {
    expect(synth.resources("network", "aws_vpc_endpoint")).toEqual({});
    expect(synth.resources("network", "aws_flow_log")).toEqual({});
  });

  it("THEN synth prints a note saying why the S3 gateway endpoint was left out and how to get it", () => {
    const outdir = join(mkdtempSync(join(tmpdir(), "oh-notes-")), "cdktf.out");
    const summary = synthesize(exampleConfig(), outdir);
    const text = formatSummary(summary, outdir, "config/example.yaml", 1);
    expect(text).toMatch(
      /^note \(network\): no S3 gateway endpoint: network\.privateRouteTableIds is empty, .*list the private subnets' route tables/m,
    );
  });

  it("THEN the stack exports the ids the other stacks read", () => {
    const outputs = Object.keys(synth.stack("network").output ?? {});
    for (const key of ["alb", "host", "database", "efs"]) expect(outputs.some((o) => o.includes(`security-groups_${key}_`))).toBe(true);
  });
});

describe("GIVEN interface endpoints, flow logs, route tables and the VPC-origin group in the configuration", () => {
  const synth = synthDeployment(exampleConfig(withEveryOption));

  it("THEN each interface endpoint has private DNS, the endpoint group and both subnets", () => {
    const interfaces = Object.values(synth.resources("network", "aws_vpc_endpoint")).filter((e) => e.vpc_endpoint_type === "Interface");
    expect(interfaces.map((e) => e.service_name.replace("com.amazonaws.eu-central-1.", "")).sort()).toEqual(
      // No ECR endpoints: no image comes from ECR.
      ["bedrock-runtime", "ec2messages", "logs", "secretsmanager", "ssm", "ssmmessages"],
    );
    for (const e of interfaces) {
      expect(e.private_dns_enabled).toBe(true);
      expect(e.subnet_ids).toEqual(["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]);
      expect(e.security_group_ids).toEqual([groupRef("endpoints")]);
    }
  });

  it("THEN the S3 gateway endpoint routes the configured route tables, and synth has nothing to note", () => {
    expect(
      synthesize(exampleConfig(withEveryOption), join(mkdtempSync(join(tmpdir(), "oh-notes-")), "cdktf.out")).flatMap((s) => s.notes),
    ).toEqual([]);
    const gateway = Object.values(synth.resources("network", "aws_vpc_endpoint")).find((e) => e.vpc_endpoint_type === "Gateway")!;
    expect(gateway.route_table_ids).toEqual(["rtb-0123456789abcdef0"]);
  });

  it("THEN flow logs capture all traffic into a log group with retention, through a role scoped to that group", () => {
    const flowLog = Object.values(synth.resources("network", "aws_flow_log"))[0]!;
    expect(flowLog).toEqual(
      expect.objectContaining({ traffic_type: "ALL", log_destination_type: "cloud-watch-logs", vpc_id: "vpc-0123456789abcdef0" }),
    );
    const group = Object.values(synth.resources("network", "aws_cloudwatch_log_group"))[0]!;
    expect(group).toEqual(expect.objectContaining({ name: "/openhands/prod/vpc-flow-logs", retention_in_days: 30 }));
    const policy = JSON.parse(Object.values(synth.resources("network", "aws_iam_role_policy"))[0]!.policy);
    expect(policy.Statement[0].Resource).toEqual([expect.stringContaining("aws_cloudwatch_log_group."), expect.stringMatching(/:\*$/)]);
  });

  it("THEN the ALB also admits CloudFront's VPC-origin service group", () => {
    const r = rule(synth, "aws_vpc_security_group_ingress_rule", "alb-from-vpc-origin");
    expect(r.referenced_security_group_id).toBe("sg-0123456789abcdef0");
    expect([r.from_port, r.to_port]).toEqual([443, 443]);
  });
});

describe("GIVEN a region without a published prefix list but an explicit one in the configuration", () => {
  const synth = synthDeployment(
    exampleConfig((raw) => {
      raw.region = "me-central-1";
      raw.stateBackend.region = "me-central-1";
      raw.network.cloudFrontPrefixListId = "pl-0123456789abcdef0";
    }),
  );

  it("THEN the ALB admits that prefix list", () => {
    const r = rule(synth, "aws_vpc_security_group_ingress_rule", "alb-from-cloudfront");
    expect(r.prefix_list_id).toBe("pl-0123456789abcdef0");
  });
});
