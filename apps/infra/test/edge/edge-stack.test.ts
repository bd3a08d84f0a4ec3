import { App, Testing, TerraformStack } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { DnsValidatedCertificate } from "../../src/constructs/edge/dns-validated-certificate";
import { COUNTED_COMMON_RULES } from "../../src/constructs/edge/web-acl";
import { FORMER_VALIDATION_RECORDS } from "../../src/stacks/edge-stack";
import { all, exampleConfig, one, ref, synthDeployment, type Json } from "../support/template";

const APP = "openhands.example.com";
const RUNTIME = "*.runtime.example.com";
const ZONE = "Z0123456789ABCDEFGHIJ";

describe("GIVEN the example configuration WHEN the edge stack is synthesized", () => {
  const synth = synthDeployment();
  const edge = synth.stack("edge");
  const distribution = (alias: string) => one(synth, "edge", "aws_cloudfront_distribution", (d) => d.aliases.includes(alias));
  const distRef = (alias: string, attribute: string) =>
    ref(synth, "edge", "aws_cloudfront_distribution", attribute, (d) => d.aliases.includes(alias));
  const fnRef = (kind: string) => ref(synth, "edge", "aws_lambda_function", "qualified_arn", (f) => f.function_name.endsWith(kind));
  const policyRef = (type: string, name: string) => ref(synth, "edge", type, "id", (p) => p.name === name);

  it("THEN it runs in us-east-1 and reads the pool from the auth stack's state", () => {
    expect(edge.provider.aws[0].region).toBe("us-east-1");
    expect(Object.keys(edge.data.terraform_remote_state)).toEqual(
      expect.arrayContaining(["cross-stack-reference-input-auth", "cross-stack-reference-input-compute"]),
    );
  });

  describe("certificate and DNS", () => {
    it("THEN one us-east-1 certificate covers the app host and the runtime wildcard, DNS-validated", () => {
      expect(one(synth, "edge", "aws_acm_certificate")).toEqual(
        expect.objectContaining({
          domain_name: APP,
          subject_alternative_names: [RUNTIME],
          validation_method: "DNS",
          lifecycle: { create_before_destroy: true },
        }),
      );
    });

    it("THEN it writes no validation record: the compute stack owns the records of the same names", () => {
      expect(all(synth, "edge", "aws_route53_record").filter((r) => r.for_each !== undefined)).toEqual([]);
      const computeRecords = all(synth, "compute", "aws_route53_record").filter((r) => r.for_each !== undefined);
      expect(computeRecords.map((r) => r.for_each)).toEqual([`\${toset(["${APP}", "${RUNTIME}"])}`]);
      expect(one(synth, "edge", "aws_acm_certificate_validation").validation_record_fqdns).toBeUndefined();
    });

    it("THEN the records an earlier version wrote here leave this stack's state without being deleted", () => {
      expect(synth.stack("edge").removed).toEqual([
        { from: `aws_route53_record.${FORMER_VALIDATION_RECORDS}`, lifecycle: { destroy: false } },
      ]);
      // The id is cdktf's for edge/certificate/validation, the path the records had.
      const app = new App();
      const stack = new TerraformStack(app, "edge");
      new AwsProvider(stack, "aws", { region: "us-east-1" });
      new DnsValidatedCertificate(stack, "certificate", { domainName: APP, zoneIdByDomain: { [APP]: ZONE } });
      expect(Object.keys(JSON.parse(Testing.synth(stack)).resource.aws_route53_record)).toEqual([FORMER_VALIDATION_RECORDS]);
    });

    it("THEN the distributions wait for the validated certificate", () => {
      const validated = ref(synth, "edge", "aws_acm_certificate_validation", "certificate_arn", () => true);
      for (const alias of [APP, RUNTIME]) expect(distribution(alias).viewer_certificate.acm_certificate_arn).toBe(validated);
    });

    it.each([
      [APP, "A"],
      [APP, "AAAA"],
      [RUNTIME, "A"],
      [RUNTIME, "AAAA"],
    ])("THEN %s has an alias record %s to its distribution", (name, type) => {
      const record = one(synth, "edge", "aws_route53_record", (r) => r.name === name && r.type === type);
      expect(record.zone_id).toBe(ZONE);
      expect(record.alias).toEqual({
        name: distRef(name, "domain_name"),
        zone_id: distRef(name, "hosted_zone_id"),
        evaluate_target_health: false,
      });
    });
  });

  describe("WAF", () => {
    const acl = () => one(synth, "edge", "aws_wafv2_web_acl");
    const rule = (name: string) => (acl().rule as Json[]).find((r) => r.name === name)!;

    it("THEN the web ACL is CLOUDFRONT-scoped, allows by default and publishes metrics", () => {
      expect(acl()).toEqual(expect.objectContaining({ name: "openhands-prod-edge", scope: "CLOUDFRONT", default_action: { allow: {} } }));
      expect(acl().visibility_config).toEqual({
        cloudwatch_metrics_enabled: true,
        metric_name: "openhands-prod-edge",
        sampled_requests_enabled: true,
      });
    });

    it("THEN the rules run in order: IP reputation, rate limit, common rules, known bad inputs", () => {
      expect((acl().rule as Json[]).map((r) => [r.priority, r.name])).toEqual([
        [1, "AWSManagedRulesAmazonIpReputationList"],
        [2, "rate-limit-per-ip"],
        [3, "AWSManagedRulesCommonRuleSet"],
        [4, "AWSManagedRulesKnownBadInputsRuleSet"],
      ]);
    });

    it("THEN the rate-based rule blocks an IP above the configured 2000 requests per 5 minutes", () => {
      expect(rule("rate-limit-per-ip").action).toEqual({ block: {} });
      expect(rule("rate-limit-per-ip").statement).toEqual({
        rate_based_statement: { limit: 2000, aggregate_key_type: "IP", evaluation_window_sec: 300 },
      });
    });

    it("THEN the common rule set only counts the body rules that match code (body size first), and blocks with the rest", () => {
      const common = rule("AWSManagedRulesCommonRuleSet");
      expect(common.override_action).toEqual({ none: {} });
      expect(common.statement.managed_rule_group_statement).toEqual({
        vendor_name: "AWS",
        name: "AWSManagedRulesCommonRuleSet",
        rule_action_override: ["SizeRestrictions_BODY", "CrossSiteScripting_BODY", "GenericLFI_BODY", "GenericRFI_BODY"].map((name) => ({
          name,
          action_to_use: { count: {} },
        })),
      });
      for (const reason of Object.values(COUNTED_COMMON_RULES)) expect(reason.length).toBeGreaterThan(40);
    });

    it("THEN known bad inputs and IP reputation block as AWS ships them", () => {
      for (const name of ["AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesAmazonIpReputationList"]) {
        expect(rule(name).override_action).toEqual({ none: {} });
        expect(rule(name).statement).toEqual({ managed_rule_group_statement: { vendor_name: "AWS", name } });
      }
    });

    it("THEN no allow list and no WAF logging exist by default", () => {
      expect(all(synth, "edge", "aws_wafv2_ip_set")).toEqual([]);
      expect(all(synth, "edge", "aws_wafv2_web_acl_logging_configuration")).toEqual([]);
    });

    it("THEN both distributions use it", () => {
      const arn = ref(synth, "edge", "aws_wafv2_web_acl", "arn", () => true);
      for (const alias of [APP, RUNTIME]) expect(distribution(alias).web_acl_id).toBe(arn);
    });
  });

  describe("CloudFront", () => {
    it("THEN the VPC origin points at the compute stack's internal ALB over HTTPS with TLS 1.2", () => {
      const origin = one(synth, "edge", "aws_cloudfront_vpc_origin");
      expect(origin.vpc_origin_endpoint_config).toEqual([
        expect.objectContaining({
          name: "openhands-prod-alb",
          http_port: 80,
          https_port: 443,
          origin_protocol_policy: "https-only",
          origin_ssl_protocols: [{ items: ["TLSv1.2"], quantity: 1 }],
        }),
      ]);
      expect(origin.vpc_origin_endpoint_config[0].arn).toMatch(/cross-stack-reference-input-compute/);
    });

    it.each([APP, RUNTIME])("THEN the distribution of %s reaches the ALB through the VPC origin only", (alias) => {
      const origins = distribution(alias).origin as Json[];
      expect(origins).toHaveLength(1);
      expect(origins[0]!.domain_name).toMatch(/cross-stack-reference-input-compute/);
      expect(origins[0]!.vpc_origin_config).toEqual({
        vpc_origin_id: ref(synth, "edge", "aws_cloudfront_vpc_origin", "id", () => true),
        origin_read_timeout: 60,
        origin_keepalive_timeout: 60,
      });
      expect(origins[0]!.custom_origin_config).toBeUndefined();
    });

    it.each([
      APP,
      RUNTIME,
    ])("THEN %s is served over TLS 1.2_2021+ with SNI, HTTP/2 and HTTP/3, IPv6, the configured price class", (alias) => {
      const d = distribution(alias);
      expect(d.viewer_certificate).toEqual(
        expect.objectContaining({ ssl_support_method: "sni-only", minimum_protocol_version: "TLSv1.2_2021" }),
      );
      expect(d).toEqual(
        expect.objectContaining({ enabled: true, http_version: "http2and3", is_ipv6_enabled: true, price_class: "PriceClass_100" }),
      );
      expect(d.restrictions).toEqual({ geo_restriction: { restriction_type: "none" } });
    });

    it.each([APP, RUNTIME])("THEN the default behaviour of %s does not cache, allows every method and redirects HTTP", (alias) => {
      const b = distribution(alias).default_cache_behavior;
      expect(b.cache_policy_id).toBe("4135ea2d-6df8-44a3-9df3-4b5a84be39ad");
      expect(b.allowed_methods).toEqual(["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]);
      expect(b.cached_methods).toEqual(["GET", "HEAD"]);
      expect(b.viewer_protocol_policy).toBe("redirect-to-https");
      expect(b.origin_request_policy_id).toBe(policyRef("aws_cloudfront_origin_request_policy", "openhands-prod-dynamic"));
    });

    it("THEN dynamic requests forward every viewer header (Host, WebSocket handshake), all cookies and query strings", () => {
      const policy = one(synth, "edge", "aws_cloudfront_origin_request_policy", (p) => p.name === "openhands-prod-dynamic");
      expect(policy.headers_config).toEqual({ header_behavior: "allViewer" });
      expect(policy.cookies_config).toEqual({ cookie_behavior: "all" });
      expect(policy.query_strings_config).toEqual({ query_string_behavior: "all" });
    });

    it.each([
      APP,
      RUNTIME,
    ])("THEN every behaviour of %s runs the viewer-request function's published version, without the body, and nothing else", (alias) => {
      const d = distribution(alias);
      for (const b of [d.default_cache_behavior, ...((d.ordered_cache_behavior as Json[] | undefined) ?? [])]) {
        expect(b.lambda_function_association).toEqual([
          { event_type: "viewer-request", lambda_arn: fnRef("viewer-request"), include_body: false },
        ]);
      }
    });

    it("THEN only hashed SPA assets on the app host may be cached, keyed by path alone", () => {
      const [assets, ...others] = (distribution(APP).ordered_cache_behavior as Json[]) ?? [];
      expect(others).toEqual([]);
      expect(assets).toEqual(
        expect.objectContaining({
          path_pattern: "/assets/*",
          allowed_methods: ["GET", "HEAD"],
          cache_policy_id: policyRef("aws_cloudfront_cache_policy", "openhands-prod-hashed-assets"),
          origin_request_policy_id: policyRef("aws_cloudfront_origin_request_policy", "openhands-prod-hashed-assets"),
          compress: true,
        }),
      );
      expect(distribution(RUNTIME).ordered_cache_behavior).toBeUndefined();
    });

    it("THEN the asset cache keeps nothing the origin does not allow and nothing per user", () => {
      const cache = one(synth, "edge", "aws_cloudfront_cache_policy");
      expect([cache.min_ttl, cache.default_ttl, cache.max_ttl]).toEqual([0, 0, 31_536_000]);
      expect(cache.parameters_in_cache_key_and_forwarded_to_origin).toEqual({
        cookies_config: { cookie_behavior: "none" },
        headers_config: { header_behavior: "none" },
        query_strings_config: { query_string_behavior: "none" },
        enable_accept_encoding_gzip: true,
        enable_accept_encoding_brotli: true,
      });
    });

    it("THEN asset requests carry Host and the signed identity to the proxy, and no cookies", () => {
      const policy = one(synth, "edge", "aws_cloudfront_origin_request_policy", (p) => p.name === "openhands-prod-hashed-assets");
      expect(policy.headers_config).toEqual({
        header_behavior: "whitelist",
        headers: { items: ["Host", "x-oh-user", "x-oh-user-slug", "x-oh-email", "x-oh-exp", "x-oh-sig"] },
      });
      expect(policy.cookies_config).toEqual({ cookie_behavior: "none" });
    });

    it("THEN the app host sends HSTS, nosniff, the app's CSP, no framing and same-origin referrers", () => {
      const policy = one(synth, "edge", "aws_cloudfront_response_headers_policy", (p) => p.name === "openhands-prod-app");
      for (const b of [distribution(APP).default_cache_behavior, ...(distribution(APP).ordered_cache_behavior as Json[])]) {
        expect(b.response_headers_policy_id).toBe(policyRef("aws_cloudfront_response_headers_policy", "openhands-prod-app"));
      }
      expect(policy.security_headers_config).toEqual({
        strict_transport_security: { access_control_max_age_sec: 63_072_000, include_subdomains: true, preload: false, override: true },
        content_type_options: { override: true },
        content_security_policy: {
          content_security_policy:
            "default-src 'self'; script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval' blob:; style-src 'self' 'unsafe-inline'; " +
            "img-src 'self' data: blob: https:; font-src 'self' data:; " +
            "connect-src 'self' https://*.runtime.example.com wss://*.runtime.example.com; frame-src 'self' " +
            "https://*.runtime.example.com; " +
            "worker-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
          override: true,
        },
        frame_options: { frame_option: "DENY", override: true },
        referrer_policy: { referrer_policy: "same-origin", override: true },
      });
      expect(policy.remove_headers_config).toEqual({ items: [{ header: "Server" }, { header: "X-Powered-By" }] });
    });

    it("THEN runtime hosts may be framed by the app host only and never send referrers", () => {
      const policy = one(synth, "edge", "aws_cloudfront_response_headers_policy", (p) => p.name === "openhands-prod-runtime");
      expect(distribution(RUNTIME).default_cache_behavior.response_headers_policy_id).toBe(
        policyRef("aws_cloudfront_response_headers_policy", "openhands-prod-runtime"),
      );
      expect(policy.security_headers_config.content_security_policy).toEqual({
        content_security_policy: "frame-ancestors https://openhands.example.com",
        override: true,
      });
      expect(policy.security_headers_config.referrer_policy).toEqual({ referrer_policy: "no-referrer", override: true });
      expect(policy.security_headers_config.frame_options).toBeUndefined();
    });

    it("THEN no access logs are delivered by default", () => {
      expect(all(synth, "edge", "aws_cloudwatch_log_delivery")).toEqual([]);
      expect(distribution(APP).logging_config).toBeUndefined();
    });
  });

  describe("Lambda@Edge", () => {
    it("THEN the viewer-request function is the only one (no origin-facing function on a VPC origin)", () => {
      expect(all(synth, "edge", "aws_lambda_function").map((f) => f.function_name)).toEqual(["openhands-prod-edge-viewer-request"]);
    });

    it.each(["viewer-request"])("THEN %s is a published x86_64 nodejs22.x function within viewer limits", (kind) => {
      const fn = one(synth, "edge", "aws_lambda_function", (f) => f.function_name === `openhands-prod-edge-${kind}`);
      expect(fn).toEqual(
        expect.objectContaining({
          runtime: "nodejs22.x",
          architectures: ["x86_64"],
          handler: "index.handler",
          publish: true,
          memory_size: 128,
          timeout: 5,
        }),
      );
      expect(fn.environment).toBeUndefined();
      expect(fn.filename).toMatch(new RegExp(`^assets/functions_${kind}-bundle_[0-9A-F]+/[0-9A-F]+/archive\\.zip$`));
    });

    it("THEN the role trusts lambda and edgelambda only", () => {
      const role = one(synth, "edge", "aws_iam_role");
      expect(JSON.parse(role.assume_role_policy)).toEqual({
        Version: "2012-10-17",
        Statement: [
          { Effect: "Allow", Principal: { Service: ["lambda.amazonaws.com", "edgelambda.amazonaws.com"] }, Action: "sts:AssumeRole" },
        ],
      });
      for (const fn of all(synth, "edge", "aws_lambda_function")) {
        expect(fn.role).toBe(ref(synth, "edge", "aws_iam_role", "arn", () => true));
        // a new bundle never runs before the permission it calls SSM with exists
        expect(fn.depends_on).toEqual([expect.stringMatching(/^aws_iam_role_policy\./)]);
      }
    });

    it("THEN the role reads exactly the two edge parameters and writes only its own logs", () => {
      const statements = JSON.parse(one(synth, "edge", "aws_iam_role_policy").policy).Statement as Json[];
      const ssm = statements.find((s) => s.Sid === "EdgeParameters")!;
      // one GetParameters call brings both at a cold start (packages/edge-auth, src/shared/ssm.ts)
      expect(ssm.Action).toBe("ssm:GetParameters");
      expect(ssm.Resource).toEqual([
        ref(synth, "edge", "aws_ssm_parameter", "arn", (p) => p.name === "/openhands/prod/edge/config"),
        ref(synth, "edge", "aws_ssm_parameter", "arn", (p) => p.name === "/openhands/prod/edge/secrets"),
      ]);
      const logs = statements.find((s) => s.Sid === "Logs")!;
      const account = Object.keys(synth.stack("edge").locals)[0]!;
      expect(synth.stack("edge").locals[account]).toMatch(/^\$\{element\(split\(":", aws_iam_role\.[^.]+\.arn\), 4\)\}$/);
      expect((logs.Resource as string[]).sort()).toEqual(
        ["viewer-request"]
          .flatMap((kind) => [
            `log-group:/aws/lambda/us-east-1.openhands-prod-edge-${kind}`,
            `log-group:/aws/lambda/us-east-1.openhands-prod-edge-${kind}:*`,
          ])
          .map((tail) => `arn:aws:logs:*:\${local.${account}}:${tail}`)
          .sort(),
      );
      expect(statements).toHaveLength(2);
    });

    it("THEN the function's us-east-1 log group keeps logs for the configured days", () => {
      const groups = all(synth, "edge", "aws_cloudwatch_log_group");
      expect(groups.map((g) => [g.name, g.retention_in_days]).sort()).toEqual([
        ["/aws/lambda/us-east-1.openhands-prod-edge-viewer-request", 30],
      ]);
    });
  });

  describe("edge parameters", () => {
    const parameter = (suffix: string) => one(synth, "edge", "aws_ssm_parameter", (p) => p.name.endsWith(suffix));

    it("THEN /openhands/prod/edge/config is a String with exactly the contract's JSON", () => {
      expect(parameter("/edge/config").type).toBe("String");
      const pool = "${data.terraform_remote_state.cross-stack-reference-input-auth.outputs.";
      const config = JSON.parse(parameter("/edge/config").value);
      expect(Object.keys(config)).toEqual([
        "version",
        "appHost",
        "runtimeDomain",
        "issuer",
        "jwksUri",
        "userPoolId",
        "clientId",
        "authorizeUrl",
        "tokenUrl",
        "logoutUrl",
        "scopes",
        "sessionMaxAgeSeconds",
      ]);
      expect(config).toEqual(
        expect.objectContaining({
          version: 1,
          appHost: APP,
          runtimeDomain: "runtime.example.com",
          authorizeUrl: "https://openhands-example-login.auth.us-east-1.amazoncognito.com/oauth2/authorize",
          tokenUrl: "https://openhands-example-login.auth.us-east-1.amazoncognito.com/oauth2/token",
          logoutUrl: "https://openhands-example-login.auth.us-east-1.amazoncognito.com/logout",
          scopes: ["openid", "email", "profile"],
          sessionMaxAgeSeconds: 2_592_000,
        }),
      );
      expect(config.userPoolId).toMatch(
        /^\$\{data\.terraform_remote_state\.cross-stack-reference-input-auth\.outputs\.[^}]*user_pool[^}]*id\}$/,
      );
      expect(config.clientId).toContain(pool);
      expect(config.issuer).toBe(`https://cognito-idp.us-east-1.amazonaws.com/${config.userPoolId}`);
      expect(config.jwksUri).toBe(`${config.issuer}/.well-known/jwks.json`);
    });

    it("THEN /openhands/prod/edge/secrets is a SecureString holding the placeholder through value_wo, never overwritten", () => {
      const secrets = parameter("/edge/secrets");
      expect(secrets.type).toBe("SecureString");
      expect(secrets.value_wo).toBe('{"unset":true}');
      expect(secrets.value_wo_version).toBe(1);
      expect(secrets.value).toBeUndefined();
      expect(secrets.lifecycle).toEqual({ ignore_changes: ["value", "value_wo_version"] });
    });
  });

  it("THEN no absolute path of this machine appears in the stack", () => {
    expect(JSON.stringify(edge)).not.toMatch(/"\/(work|tmp|root|home)\//);
    expect(JSON.stringify(edge)).not.toContain(process.cwd());
  });
});

describe("GIVEN a separate registrable runtime domain with its own zone", () => {
  const synth = synthDeployment(
    exampleConfig((raw) => (raw.domain.runtime = { domain: "example-sandbox.net", hostedZoneId: "Z0987654321ABCDEFGHIJ" })),
  );

  it("THEN the wildcard is proved (by the compute stack's record) and aliased in the runtime zone, the app host in the apex zone", () => {
    const validation = one(synth, "compute", "aws_route53_record", (r) => r.for_each !== undefined);
    expect(validation.zone_id).toContain(`"*.example-sandbox.net" = "Z0987654321ABCDEFGHIJ"`);
    for (const type of ["A", "AAAA"]) {
      expect(one(synth, "edge", "aws_route53_record", (r) => r.name === "*.example-sandbox.net" && r.type === type).zone_id).toBe(
        "Z0987654321ABCDEFGHIJ",
      );
      expect(one(synth, "edge", "aws_route53_record", (r) => r.name === APP && r.type === type).zone_id).toBe(ZONE);
    }
    expect(one(synth, "edge", "aws_acm_certificate").subject_alternative_names).toEqual(["*.example-sandbox.net"]);
  });

  it("THEN runtime hosts are still framed by the app host only", () => {
    const policy = one(synth, "edge", "aws_cloudfront_response_headers_policy", (p) => p.name === "openhands-prod-runtime");
    expect(policy.security_headers_config.content_security_policy.content_security_policy).toBe(
      "frame-ancestors https://openhands.example.com",
    );
  });
});

describe("GIVEN an allow list, access logs, a price class and a rate limit in the configuration", () => {
  const synth = synthDeployment(
    exampleConfig((raw) =>
      Object.assign(raw.edge, {
        allowedCidrs: ["203.0.113.0/24", "2001:db8::/32"],
        accessLogs: true,
        priceClass: "PriceClass_All",
        rateLimitPer5Minutes: 500,
      }),
    ),
  );
  const acl = () => one(synth, "edge", "aws_wafv2_web_acl");

  it("THEN an IPv4 and an IPv6 set hold the CIDRs", () => {
    const sets = all(synth, "edge", "aws_wafv2_ip_set");
    expect(sets.map((s) => [s.ip_address_version, s.addresses, s.scope])).toEqual([
      ["IPV4", ["203.0.113.0/24"], "CLOUDFRONT"],
      ["IPV6", ["2001:db8::/32"], "CLOUDFRONT"],
    ]);
  });

  it("THEN the first rule blocks every address outside both sets", () => {
    const first = (acl().rule as Json[])[0]!;
    expect(first).toEqual(expect.objectContaining({ name: "block-outside-allow-list", priority: 0, action: { block: {} } }));
    const v4 = ref(synth, "edge", "aws_wafv2_ip_set", "arn", (s) => s.ip_address_version === "IPV4");
    const v6 = ref(synth, "edge", "aws_wafv2_ip_set", "arn", (s) => s.ip_address_version === "IPV6");
    expect(first.statement).toEqual({
      not_statement: {
        statement: {
          or_statement: { statement: [{ ip_set_reference_statement: { arn: v4 } }, { ip_set_reference_statement: { arn: v6 } }] },
        },
      },
    });
  });

  it("THEN the rate limit and the price class follow the configuration", () => {
    const rate = (acl().rule as Json[]).find((r) => r.name === "rate-limit-per-ip")!;
    expect(rate.statement.rate_based_statement.limit).toBe(500);
    for (const d of all(synth, "edge", "aws_cloudfront_distribution")) expect(d.price_class).toBe("PriceClass_All");
  });

  it("THEN WAF logs to aws-waf-logs-... with cookies, authorization and query strings redacted", () => {
    const logging = one(synth, "edge", "aws_wafv2_web_acl_logging_configuration");
    expect(logging.redacted_fields).toEqual([
      { single_header: { name: "cookie" } },
      { single_header: { name: "authorization" } },
      { query_string: {} },
    ]);
    expect(logging.log_destination_configs).toEqual([
      ref(synth, "edge", "aws_cloudwatch_log_group", "arn", (g) => g.name === "aws-waf-logs-openhands-prod-edge"),
    ]);
  });

  it("THEN both distributions deliver access logs to CloudWatch without query strings or cookies", () => {
    const sources = all(synth, "edge", "aws_cloudwatch_log_delivery_source");
    expect(sources.map((s) => s.resource_arn).sort()).toEqual([distArn(synth, APP), distArn(synth, RUNTIME)].sort());
    for (const delivery of all(synth, "edge", "aws_cloudwatch_log_delivery")) {
      expect(delivery.record_fields).toContain("cs-uri-stem");
      for (const secretBearing of ["cs-uri-query", "cs(Cookie)", "cs(Referer)"])
        expect(delivery.record_fields).not.toContain(secretBearing);
    }
    expect(one(synth, "edge", "aws_cloudwatch_log_group", (g) => g.name === "/openhands/prod/cloudfront").retention_in_days).toBe(30);
  });

  it("THEN with an IPv6 range listed, both distributions keep IPv6 and the AAAA records stay", () => {
    for (const d of all(synth, "edge", "aws_cloudfront_distribution")) expect(d.is_ipv6_enabled).toBe(true);
    expect(all(synth, "edge", "aws_route53_record").filter((r) => r.type === "AAAA")).toHaveLength(2);
  });

  describe("WHEN only IPv4 CIDRs are listed", () => {
    const v4only = synthDeployment(exampleConfig((raw) => (raw.edge.allowedCidrs = ["198.51.100.7/32"])));

    it("THEN the rule refers to one set without an OR", () => {
      const first = (one(v4only, "edge", "aws_wafv2_web_acl").rule as Json[])[0]!;
      expect(first.statement).toEqual({
        not_statement: { statement: { ip_set_reference_statement: { arn: ref(v4only, "edge", "aws_wafv2_ip_set", "arn", () => true) } } },
      });
    });

    it(
      "THEN the distributions serve IPv4 only and no AAAA record is published " + "(an IPv6 viewer in the allowed office would be blocked)",
      () => {
        for (const d of all(v4only, "edge", "aws_cloudfront_distribution")) expect(d.is_ipv6_enabled).toBe(false);
        const records = all(v4only, "edge", "aws_route53_record").filter((r) => r.alias);
        expect(records.map((r) => r.type).sort()).toEqual(["A", "A"]);
      },
    );
  });
});

function distArn(synth: ReturnType<typeof synthDeployment>, alias: string): string {
  return ref(synth, "edge", "aws_cloudfront_distribution", "arn", (d) => d.aliases.includes(alias));
}
