/**
 * The edge, identity and secrets checks over the us-east-1 stacks, through the real policy runner: the example passes
 * (suppressions matched by the runner's globs), and each attack on a copy of the stacks is caught by its check.
 */
import { checkDeployment, CHECKS_BY_DOMAIN, SUPPRESSIONS, type PolicyReport } from "../../src/policy";
import { exampleConfig, Template, type Json } from "../support/template";

type Stacks = Record<"auth" | "edge", Json>;

/** The first resource of a type in a deep copy of the stacks, to break on purpose. */
function first(stacks: Stacks, stack: keyof Stacks, type: string, pick: (body: Json) => boolean = () => true): Json {
  return Object.values(stacks[stack].resource[type] as Record<string, Json>).find(pick)!;
}

/** Findings of a check that did not pass, suppressed or not. */
function flagged(report: PolicyReport, checkId: string) {
  return report.findings.filter((f) => f.checkId === checkId && f.status !== "pass");
}

/** The checks of the us-east-1 services (CloudFront, WAF, Lambda@Edge, ACM, Cognito, the edge secrets parameter). */
const EDGE_SIDE_CHECKS = [...CHECKS_BY_DOMAIN.edge, ...CHECKS_BY_DOMAIN.identity.filter((c) => /^OHT_(COG|EDGE)_/.test(c.id))];

describe("GIVEN the example deployment's us-east-1 stacks", () => {
  const report = checkDeployment(Template.synth().stacks(["auth", "edge"]));

  it("THEN every check passes or is suppressed with a written reason", () => {
    expect(report.failures.map((f) => `${f.checkId} ${f.resource}: ${f.message}`)).toEqual([]);
  });

  it("THEN the only suppressed edge-service findings are the opt-in logs and the CloudWatch key", () => {
    expect([...new Set(report.suppressed.map((f) => f.checkId))].sort()).toEqual(["OHT_CF_011", "OHT_LOG_002", "OHT_WAF_005"]);
  });

  it("THEN the suppressions that matched are the project's own, found by the runner's globs", () => {
    for (const f of report.suppressed) expect(SUPPRESSIONS.map((s) => s.justification)).toContain(f.justification);
  });
});

const withLogs = JSON.stringify(Template.synth(exampleConfig((raw) => (raw.edge.accessLogs = true))).stacks(["auth", "edge"]));

describe("GIVEN access logs turned on", () => {
  it("THEN no edge-service check fails at all, suppressed or not", () => {
    const report = checkDeployment(JSON.parse(withLogs) as Stacks);
    const ids = new Set(EDGE_SIDE_CHECKS.map((c) => c.id));
    expect(report.findings.filter((f) => ids.has(f.checkId) && f.status !== "pass")).toEqual([]);
  });
});

describe("GIVEN a deployment broken on purpose", () => {
  const pristine = withLogs;
  const dist = (s: Stacks) => first(s, "edge", "aws_cloudfront_distribution", (d) => d.aliases.includes("openhands.example.com"));
  const waf = (s: Stacks) => first(s, "edge", "aws_wafv2_web_acl");
  const pool = (s: Stacks) => first(s, "auth", "aws_cognito_user_pool");
  const client = (s: Stacks) => first(s, "auth", "aws_cognito_user_pool_client");
  const viewerFn = (s: Stacks) => first(s, "edge", "aws_lambda_function", (f) => f.function_name.endsWith("viewer-request"));
  const rule = (s: Stacks, name: string) => (waf(s).rule as Json[]).find((r) => r.name === name)!;

  const attacks: Array<[string, string, (s: Stacks) => void, RegExp]> = [
    ["OHT_CF_001", "the WAF is detached (requests reach the origin unfiltered)", (s) => delete dist(s).web_acl_id, /no web_acl_id/],
    [
      "OHT_CF_002",
      "plain HTTP is allowed (cookies sniffed on the wire)",
      (s) => (dist(s).default_cache_behavior.viewer_protocol_policy = "allow-all"),
      /allows allow-all/,
    ],
    [
      "OHT_CF_003",
      "TLS 1.0 is allowed (downgrade)",
      (s) => (dist(s).viewer_certificate.minimum_protocol_version = "TLSv1_2016"),
      /minimum_protocol_version is TLSv1_2016/,
    ],
    [
      "OHT_CF_003",
      "the default certificate is used",
      (s) => (dist(s).viewer_certificate = { cloudfront_default_certificate: true }),
      /default \*\.cloudfront\.net/,
    ],
    [
      "OHT_CF_004",
      "a public custom origin over HTTP is added",
      (s) =>
        dist(s).origin.push({
          origin_id: "public",
          domain_name: "alb.example.com",
          custom_origin_config: { origin_protocol_policy: "http-only", origin_ssl_protocols: ["TLSv1.2"] },
        }),
      /origin public uses http-only/,
    ],
    [
      "OHT_CF_005",
      "the VPC origin speaks plain HTTP (identity headers in clear)",
      (s) => (first(s, "edge", "aws_cloudfront_vpc_origin").vpc_origin_endpoint_config[0].origin_protocol_policy = "http-only"),
      /origin_protocol_policy is http-only/,
    ],
    [
      "OHT_CF_005",
      "the VPC origin accepts TLS 1.0",
      (s) =>
        (first(s, "edge", "aws_cloudfront_vpc_origin").vpc_origin_endpoint_config[0].origin_ssl_protocols = [
          { items: ["TLSv1", "TLSv1.2"], quantity: 2 },
        ]),
      /TLSv1, TLSv1\.2/,
    ],
    [
      "OHT_CF_006",
      "a behaviour loses its response headers policy",
      (s) => delete dist(s).ordered_cache_behavior[0].response_headers_policy_id,
      /behaviour \/assets\/\* has no response headers policy/,
    ],
    [
      "OHT_CF_007",
      "HSTS is shortened to a day",
      (s) =>
        (first(
          s,
          "edge",
          "aws_cloudfront_response_headers_policy",
        ).security_headers_config.strict_transport_security.access_control_max_age_sec = 86400),
      /HSTS max-age is 86400/,
    ],
    [
      "OHT_CF_008",
      "a path skips authentication (unauthenticated origin access)",
      (s) => (dist(s).ordered_cache_behavior[0].lambda_function_association = []),
      /behaviour \/assets\/\* has no viewer-request function/,
    ],
    [
      "OHT_CF_009",
      "the association points at $LATEST",
      (s) => (dist(s).default_cache_behavior.lambda_function_association[0].lambda_arn = "${aws_lambda_function.x.arn}"),
      /viewer-request uses/,
    ],
    [
      "OHT_CF_009",
      "the viewer function receives the body",
      (s) => (dist(s).default_cache_behavior.lambda_function_association[0].include_body = true),
      /receives the request body/,
    ],
    [
      "OHT_CF_010",
      "the asset cache keys on cookies (one user's page served to another)",
      (s) =>
        (first(s, "edge", "aws_cloudfront_cache_policy").parameters_in_cache_key_and_forwarded_to_origin.cookies_config = {
          cookie_behavior: "all",
        }),
      /keys its cache on cookies/,
    ],
    [
      "OHT_CF_010",
      "cached requests carry session cookies to the origin",
      (s) =>
        (first(s, "edge", "aws_cloudfront_origin_request_policy", (p) => p.name.endsWith("hashed-assets")).cookies_config = {
          cookie_behavior: "all",
        }),
      /caches responses to requests that carry cookies/,
    ],
    ["OHT_CF_011", "access logs are switched off", (s) => delete s.edge.resource.aws_cloudwatch_log_delivery_source, /no logging_config/],
    [
      "OHT_CF_012",
      "an origin-response function is put back on the VPC origin (refused by CloudFront, headers silently lost)",
      (s) =>
        dist(s).default_cache_behavior.lambda_function_association.push({
          event_type: "origin-response",
          lambda_arn: dist(s).default_cache_behavior.lambda_function_association[0].lambda_arn,
          include_body: false,
        }),
      /runs an origin-response function on the VPC origin alb/,
    ],
    [
      "OHT_CF_012",
      "an origin-request function runs on the asset path of the VPC origin",
      (s) =>
        dist(s).ordered_cache_behavior[0].lambda_function_association.push({
          event_type: "origin-request",
          lambda_arn: "${aws_lambda_function.x.qualified_arn}",
          include_body: false,
        }),
      /behaviour \/assets\/\* runs an origin-request function/,
    ],
    [
      "OHT_CF_013",
      "the app's CSP is dropped (the app can be framed: clickjacking)",
      (s) =>
        delete first(s, "edge", "aws_cloudfront_response_headers_policy", (p) => p.name.endsWith("-app")).security_headers_config
          .content_security_policy,
      /no Content-Security-Policy with frame-ancestors/,
    ],
    [
      "OHT_CF_013",
      "a sandbox's own CSP is allowed to win (it could let any site frame it)",
      (s) =>
        (first(s, "edge", "aws_cloudfront_response_headers_policy", (p) =>
          p.name.endsWith("-runtime"),
        ).security_headers_config.content_security_policy.override = false),
      /override is not true/,
    ],
    [
      "OHT_CF_013",
      "runtime hosts send referrers (session keys in query strings leak)",
      (s) =>
        delete first(s, "edge", "aws_cloudfront_response_headers_policy", (p) => p.name.endsWith("-runtime")).security_headers_config
          .referrer_policy,
      /no Referrer-Policy/,
    ],
    ["OHT_WAF_001", "the web ACL has no rules", (s) => (waf(s).rule = []), /no rules/],
    [
      "OHT_WAF_001",
      "a rule publishes no metrics",
      (s) => (rule(s, "rate-limit-per-ip").visibility_config.cloudwatch_metrics_enabled = false),
      /publishes no metrics/,
    ],
    [
      "OHT_WAF_002",
      "Log4Shell protection is dropped",
      (s) => (waf(s).rule = (waf(s).rule as Json[]).filter((r) => r.name !== "AWSManagedRulesKnownBadInputsRuleSet")),
      /missing AWSManagedRulesKnownBadInputsRuleSet/,
    ],
    [
      "OHT_WAF_003",
      "the rate rule only counts (password guessing unchecked)",
      (s) => (rule(s, "rate-limit-per-ip").action = { count: {} }),
      /does not block/,
    ],
    [
      "OHT_WAF_003",
      "the rate rule is removed",
      (s) => (waf(s).rule = (waf(s).rule as Json[]).filter((r) => r.name !== "rate-limit-per-ip")),
      /no rate-based rule/,
    ],
    [
      "OHT_WAF_004",
      "the instance-metadata SSRF rule is quietly set to count",
      (s) =>
        rule(s, "AWSManagedRulesCommonRuleSet").statement.managed_rule_group_statement.rule_action_override.push({
          name: "EC2MetaDataSSRF_QUERYARGUMENTS",
          action_to_use: { count: {} },
        }),
      /counted without a written reason: EC2MetaDataSSRF_QUERYARGUMENTS/,
    ],
    [
      "OHT_WAF_004",
      "a whole rule group only counts",
      (s) => (rule(s, "AWSManagedRulesKnownBadInputsRuleSet").override_action = { count: {} }),
      /only counts/,
    ],
    [
      "OHT_WAF_005",
      "WAF logs keep session cookies",
      (s) => (first(s, "edge", "aws_wafv2_web_acl_logging_configuration").redacted_fields = []),
      /session cookies or query strings reach the logs/,
    ],
    [
      "OHT_WAF_006",
      "an IPv4-only allow list is put in front of a distribution that serves IPv6 (every IPv6 viewer blocked)",
      (s) => {
        s.edge.resource.aws_wafv2_ip_set = {
          office: { name: "office", scope: "CLOUDFRONT", ip_address_version: "IPV4", addresses: ["203.0.113.0/24"] },
        };
        (waf(s).rule as Json[]).unshift({
          name: "block-outside-allow-list",
          priority: 0,
          action: { block: {} },
          statement: { not_statement: { statement: { ip_set_reference_statement: { arn: "${aws_wafv2_ip_set.office.arn}" } } } },
          visibility_config: { cloudwatch_metrics_enabled: true, metric_name: "allow", sampled_requests_enabled: true },
        });
      },
      /IPv4 only/,
    ],
    ["OHT_COG_001", "8-character passwords are accepted", (s) => (pool(s).password_policy.minimum_length = 8), /minimum_length is 8/],
    ["OHT_COG_001", "symbols are not required", (s) => (pool(s).password_policy.require_symbols = false), /require_symbols/],
    ["OHT_COG_002", "MFA is off (a leaked password signs in)", (s) => (pool(s).mfa_configuration = "OFF"), /MFA is off/],
    ["OHT_COG_003", "deletion protection is off", (s) => (pool(s).deletion_protection = "INACTIVE"), /deletion_protection/],
    ["OHT_COG_003", "self sign-up is open", (s) => (pool(s).admin_create_user_config.allow_admin_create_user_only = false), /can sign up/],
    [
      "OHT_COG_004",
      "the implicit flow is allowed (tokens in URLs)",
      (s) => (client(s).allowed_oauth_flows = ["code", "implicit"]),
      /allowed_oauth_flows are code, implicit/,
    ],
    [
      "OHT_COG_004",
      "a wildcard callback lets a code go elsewhere",
      (s) => (client(s).callback_urls = ["https://*.example.com/_auth/callback"]),
      /not exact HTTPS/,
    ],
    [
      "OHT_COG_004",
      "a plain-HTTP localhost callback is left in",
      (s) => client(s).callback_urls.push("http://localhost:3000/_auth/callback"),
      /not exact HTTPS/,
    ],
    [
      "OHT_COG_005",
      "unknown users are revealed (enumeration)",
      (s) => (client(s).prevent_user_existence_errors = "LEGACY"),
      /account enumeration/,
    ],
    ["OHT_LE_001", "the function runs on arm64", (s) => (viewerFn(s).architectures = ["arm64"]), /x86_64 only/],
    ["OHT_LE_001", "a deprecated runtime is used", (s) => (viewerFn(s).runtime = "nodejs16.x"), /runtime nodejs16\.x/],
    ["OHT_LE_001", "no version is published", (s) => (viewerFn(s).publish = false), /publish is not true/],
    [
      "OHT_LE_002",
      "secrets are put in environment variables",
      (s) => (viewerFn(s).environment = { variables: { KEY: "x" } }),
      /sets environment/,
    ],
    ["OHT_LE_003", "the viewer function gets 512 MB", (s) => (viewerFn(s).memory_size = 512), /memory_size 512/],
    [
      "OHT_LE_004",
      "the role forgets edgelambda",
      (s) =>
        (first(s, "edge", "aws_iam_role").assume_role_policy = JSON.stringify({
          Statement: [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }],
        })),
      /does not trust edgelambda\.amazonaws\.com/,
    ],
    [
      "OHT_LE_004",
      "the role may read every parameter (all secrets of the account)",
      (s) => {
        const p = first(s, "edge", "aws_iam_role_policy");
        const doc = JSON.parse(p.policy);
        doc.Statement[1].Resource = "arn:aws:ssm:us-east-1:123456789012:parameter/*";
        p.policy = JSON.stringify(doc);
      },
      /through a wildcard/,
    ],
    [
      "OHT_ACM_001",
      "the certificate is e-mail validated",
      (s) => (first(s, "edge", "aws_acm_certificate").validation_method = "EMAIL"),
      /validation_method is EMAIL/,
    ],
    [
      "OHT_EDGE_001",
      "the secrets parameter gets a plain value (keys in state)",
      (s) => (first(s, "edge", "aws_ssm_parameter", (p) => p.name.endsWith("/edge/secrets")).value = "real-key"),
      /value is set/,
    ],
    [
      "OHT_EDGE_001",
      "a later plan could overwrite the host's keys",
      (s) => delete first(s, "edge", "aws_ssm_parameter", (p) => p.name.endsWith("/edge/secrets")).lifecycle,
      /ignore_changes/,
    ],
  ];

  it.each(attacks)("WHEN %s catches that %s THEN it fails with a reason", (checkId, _what, mutate, message) => {
    const stacks = JSON.parse(pristine) as Stacks;
    mutate(stacks);
    const failed = flagged(checkDeployment(stacks), checkId);
    expect(failed.length).toBeGreaterThan(0);
    for (const f of failed) expect(f.message).toMatch(message);
  });

  it("THEN every edge-service check is tried by at least one attack", () => {
    expect(new Set(attacks.map(([id]) => id))).toEqual(new Set(EDGE_SIDE_CHECKS.map((c) => c.id)));
  });
});
