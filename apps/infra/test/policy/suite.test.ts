import { readFileSync } from "node:fs";
import { join } from "node:path";
import { exampleConfig, Template, withEveryOption, type Json } from "../support/template";
import { ALL_CHECKS, CHECK_DOMAINS, CHECKS_BY_DOMAIN, formatReport, POLICY_SUITES, runPolicy, SUPPRESSIONS } from "../../src/policy";
import { STACK_IDS } from "../../src/config/names";
import type { PolicyCheck } from "../../src/policy/types";

const withOpenHands17 = (raw: Json): void => {
  raw.openhands.app.tag = "1.7.0";
  raw.openhands.agentServer.tag = "1.19.1-python";
};

const broken = JSON.parse(readFileSync(join(__dirname, "fixtures/broken-main.tf.json"), "utf8")) as Json;
const brokenEdge = JSON.parse(readFileSync(join(__dirname, "fixtures/broken-edge.tf.json"), "utf8")) as Json;

/** ECS mode's checks, each attacked on a copy of the ECS-mode example in ecs-checks.test.ts. */
const ECS_MODE_CHECKS = new Set(["OHT_SG_005", "OHT_EFS_005", "OHT_IAM_007", "OHT_IAM_008", "OHT_IAM_009", "OHT_IAM_010"]);

/** Checks whose failure the broken main-region fixture shows; the edge-side ones are attacked in edge-checks.test.ts. */
const MAIN_SERVICE_CHECKS = ALL_CHECKS.filter(
  (c) => !CHECKS_BY_DOMAIN.edge.includes(c) && !/^OHT_(COG|EDGE)_/.test(c.id) && !ECS_MODE_CHECKS.has(c.id),
);

describe("GIVEN the policy suite", () => {
  it("THEN it has named checks in every domain, with unique ids and one-line titles", () => {
    expect(ALL_CHECKS.length).toBeGreaterThanOrEqual(90);
    for (const domain of CHECK_DOMAINS) expect(CHECKS_BY_DOMAIN[domain].length).toBeGreaterThan(0);
    const ids = ALL_CHECKS.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const check of ALL_CHECKS) {
      expect(check.id).toMatch(/^OHT_[A-Z0-9]+_\d{3}$/);
      expect(check.title.length).toBeGreaterThan(20);
      expect(check.title).not.toContain("\n");
      expect(check.resourceTypes.length).toBeGreaterThan(0);
    }
  });

  it("THEN the README states how many checks there are", () => {
    const readme = readFileSync(join(__dirname, "../../README.md"), "utf8");
    expect(readme).toContain(`\`ALL_CHECKS\` (${ALL_CHECKS.length} checks:`);
  });

  it("THEN it covers every service of the deployment", () => {
    const areas = new Set(ALL_CHECKS.map((c) => c.id.split("_")[1]));
    for (const area of [
      "S3",
      "ALB",
      "TG",
      "EC2",
      "ASG",
      "RDS",
      "EFS",
      "IAM",
      "SG",
      "LOG",
      "SEC",
      "SSM",
      "SNS",
      "BAK",
      "VPCE",
      "CW",
      "CF",
      "WAF",
      "COG",
      "LE",
      "ACM",
      "EDGE",
    ]) {
      expect(areas).toContain(area);
    }
  });

  it("THEN it is one suite: every check over every stack", () => {
    expect(POLICY_SUITES).toHaveLength(1);
    expect(POLICY_SUITES[0]!.stacks).toBeUndefined();
    expect([...POLICY_SUITES[0]!.checks].sort((a, b) => a.id.localeCompare(b.id))).toEqual(
      [...ALL_CHECKS].sort((a, b) => a.id.localeCompare(b.id)),
    );
  });

  it("THEN every suppression carries a written justification and names a check of the suite", () => {
    for (const s of SUPPRESSIONS) {
      expect(s.justification.length).toBeGreaterThanOrEqual(80);
      expect(ALL_CHECKS.map((c) => c.id)).toContain(s.checkId);
    }
  });
});

describe("GIVEN the example deployment synthesized", () => {
  const template = Template.synth();
  const report = template.policy();

  it("THEN the suite finds no failure", () => {
    expect(report.failures.map((f) => `${f.checkId} ${f.resource}: ${f.message}`)).toEqual([]);
    expect(report.invalidSuppressions).toEqual([]);
  });

  it("THEN it really looked: every stack was checked, most checks applied, and passes far outnumber suppressions", () => {
    for (const stack of STACK_IDS) expect(report.findings.some((f) => f.resource.startsWith(`${stack}.`))).toBe(true);
    expect(new Set(report.findings.map((f) => f.checkId)).size).toBeGreaterThanOrEqual(80);
    expect(report.passed).toBeGreaterThan(3 * report.suppressed.length);
  });

  it("THEN the IAM checks see the Lambda@Edge role and the log checks the us-east-1 log groups", () => {
    const seen = (checkId: string, prefix: string) => report.findings.filter((f) => f.checkId === checkId && f.resource.startsWith(prefix));
    for (const id of ["OHT_IAM_001", "OHT_IAM_002", "OHT_IAM_003", "OHT_IAM_004", "OHT_IAM_005"]) {
      expect(seen(id, "edge.aws_iam_role.").map((f) => f.status)).toEqual(["pass"]);
    }
    const edgeLogs = seen("OHT_LOG_001", "edge.aws_cloudwatch_log_group.");
    expect(edgeLogs.length).toBeGreaterThan(0);
    for (const f of edgeLogs) expect(f.status).toBe("pass");
  });

  it(
    "THEN every suppression matches a finding of the example, the every-option or the OpenHands 1.7.0 deployment (none is stale in " +
      "all)",
    () => {
      const every = Template.synth(exampleConfig(withEveryOption)).policy();
      const old = Template.synth(exampleConfig(withOpenHands17)).policy();
      const staleInAll = report.unusedSuppressions.filter(
        (s) => every.unusedSuppressions.includes(s) && old.unusedSuppressions.includes(s),
      );
      expect(staleInAll).toEqual([]);
    },
  );

  it("THEN the example (OpenHands 1.11.0) passes the forced-TLS check; the 1.7.0 pair's optional TLS is suppressed, and only there", () => {
    expect(report.findings.filter((f) => f.checkId === "OHT_RDS_010").map((f) => f.status)).toEqual(["pass"]);
    const old = Template.synth(exampleConfig(withOpenHands17));
    expect(
      old
        .policy()
        .findings.filter((f) => f.checkId === "OHT_RDS_010")
        .map((f) => f.status),
    ).toEqual(["suppressed"]);
    // Attack: a 1.11.0 deployment whose parameter group was switched back to rds.force_ssl=0 is not hidden by that exception.
    const stacks = Template.synth(exampleConfig()).stacks();
    const groups = stacks.data!.resource.aws_rds_cluster_parameter_group as Record<string, Json>;
    for (const group of Object.values(groups)) for (const p of group.parameter as Json[]) if (p.name === "rds.force_ssl") p.value = "0";
    const weakened = runPolicy(stacks, POLICY_SUITES, SUPPRESSIONS);
    expect(weakened.failures.map((f) => f.checkId)).toEqual(["OHT_RDS_010"]);
  });

  it("THEN the summary names the counts", () => {
    expect(formatReport(report)).toMatch(/\d+ passed, 0 failed, \d+ suppressed \(\d+ checks applied\)$/);
  });
});

describe("GIVEN every optional resource switched on", () => {
  const template = Template.synth(exampleConfig(withEveryOption));

  it("THEN the suite still finds no failure", () => {
    const report = template.policy();
    expect(report.failures.map((f) => `${f.checkId} ${f.resource}: ${f.message}`)).toEqual([]);
  });
});

describe("GIVEN a deliberately broken main-region stack", () => {
  const report = runPolicy({ broken }, POLICY_SUITES, []);
  const failed = new Set(report.failures.map((f) => f.checkId));

  it("THEN every check of the main-region services fails on it", () => {
    expect(MAIN_SERVICE_CHECKS.map((c) => c.id).filter((id) => !failed.has(id))).toEqual([]);
  });

  it.each([
    ["OHT_S3_001", "broken.aws_s3_bucket.open", /no aws_s3_bucket_public_access_block/],
    ["OHT_S3_008", "broken.aws_s3_bucket.open", /force_destroy is on/],
    ["OHT_ALB_002", "broken.aws_lb.public", /internet-facing/],
    ["OHT_ALB_003", "broken.aws_lb_listener.plain", /HTTP forwards without TLS/],
    ["OHT_ALB_004", "broken.aws_lb_listener.weak", /ELBSecurityPolicy-2016-08/],
    ["OHT_EC2_001", "broken.aws_launch_template.loose", /http_tokens is optional/],
    ["OHT_EC2_006", "broken.aws_launch_template.loose", /AWS access key id/],
    ["OHT_RDS_006", "broken.aws_rds_cluster.careless", /master_password is set/],
    ["OHT_RDS_010", "broken.aws_rds_cluster.careless", /rds.force_ssl is 0/],
    ["OHT_IAM_001", "broken.aws_iam_role_policy.opaque", /not literal JSON/],
    ["OHT_IAM_002", "broken.aws_iam_role.anyone", /allows s3:\*.*NotAction|NotAction/],
    ["OHT_IAM_003", "broken.aws_iam_role.anyone", /on "\*"/],
    ["OHT_IAM_004", "broken.aws_iam_role.anyone", /iam:PassRole/],
    ["OHT_IAM_005", "broken.aws_iam_role.anyone", /non-service principal/],
    ["OHT_IAM_006", "broken.aws_iam_role_policy_attachment.admin", /AdministratorAccess/],
    ["OHT_SG_002", "broken.aws_security_group.wide", /0\.0\.0\.0\/0/],
    ["OHT_SEC_001", "broken.aws_secretsmanager_secret_version.written", /secret value/],
    ["OHT_SSM_001", "broken.aws_ssm_parameter.db_password", /type is String/],
  ])("THEN %s fails on %s with the reason", (checkId, resource, reason) => {
    const finding = report.failures.find((f) => f.checkId === checkId && f.resource === resource);
    expect(finding?.message).toMatch(reason);
  });

  it("THEN the project's suppressions do not hide it (they name the project's own resources)", () => {
    const withSuppressions = runPolicy(
      { broken },
      POLICY_SUITES,
      SUPPRESSIONS.filter((s) => s.resource !== "*"),
    );
    expect(withSuppressions.failures.length).toBe(report.failures.length);
  });
});

describe(
  "GIVEN a deliberately broken edge stack (security headers from a " + "function on a VPC origin, IPv6 behind an IPv4 allow list)",
  () => {
    const report = runPolicy({ broken: brokenEdge }, POLICY_SUITES, SUPPRESSIONS);
    const failure = (checkId: string) =>
      report.failures.find((f) => f.checkId === checkId && f.resource === "broken.aws_cloudfront_distribution.headers_by_function");

    it("THEN OHT_CF_012 refuses the origin-response function on the VPC origin", () => {
      expect(failure("OHT_CF_012")?.message).toBe("default behaviour runs an origin-response function on the VPC origin alb");
    });

    it("THEN OHT_WAF_006 refuses IPv6 behind an IPv4-only allow list", () => {
      expect(failure("OHT_WAF_006")?.message).toMatch(/IPv6 is enabled but the web ACL's IP sets are IPv4 only/);
    });

    it("THEN OHT_CF_013 refuses a response headers policy without a CSP", () => {
      expect(failure("OHT_CF_013")?.message).toBe("default behaviour: no Content-Security-Policy with frame-ancestors");
    });
  },
);

describe("GIVEN suppressions that do not hold up", () => {
  const check: PolicyCheck = {
    id: "OHT_TEST_001",
    title: "buckets are versioned",
    resourceTypes: ["aws_s3_bucket"],
    evaluate: () => "not versioned",
  };
  const stacks = { broken };

  it("WHEN the justification is too short THEN the suppression is refused and the failure stays", () => {
    const report = runPolicy(stacks, [{ checks: [check] }], [{ checkId: "OHT_TEST_001", resource: "*", justification: "not needed" }]);
    expect(report.invalidSuppressions.map((i) => i.reason)).toEqual(["the justification is too short to say why"]);
    expect(report.failures).toHaveLength(1);
  });

  it("WHEN it names an unknown check THEN it is refused", () => {
    const report = runPolicy(stacks, [{ checks: [check] }], [{ checkId: "OHT_NOPE_001", resource: "*", justification: "x".repeat(60) }]);
    expect(report.invalidSuppressions.map((i) => i.reason)).toEqual(["unknown check OHT_NOPE_001"]);
  });

  it("WHEN it matches nothing THEN it is reported as stale", () => {
    const report = runPolicy(
      stacks,
      [{ checks: [check] }],
      [{ checkId: "OHT_TEST_001", resource: "other.aws_s3_bucket.*", justification: "y".repeat(60) }],
    );
    expect(report.unusedSuppressions).toHaveLength(1);
    expect(formatReport(report)).toContain("STALE suppression OHT_TEST_001 other.aws_s3_bucket.*");
  });

  it("WHEN a check throws on a resource it cannot read THEN that is a failure, not a crash", () => {
    const throwing: PolicyCheck = {
      id: "OHT_TEST_002",
      title: "reads something",
      resourceTypes: ["aws_s3_bucket"],
      evaluate: () => {
        throw new Error("boom");
      },
    };
    const report = runPolicy(stacks, [{ checks: [throwing] }], []);
    expect(report.failures[0]?.message).toBe("the check could not read the resource: boom");
  });
});
