import { COUNTED_COMMON_RULES } from "../../constructs/edge/web-acl";
import type { PolicyCheck, PolicyResource, PolicySuppression, TerraformJson } from "../types";

/*
 * Checks of the us-east-1 stacks: CloudFront, WAF, Cognito, Lambda@Edge, ACM and the edge parameters.
 * Titles name the checkov / trivy / cdk-nag controls they stand for (reference/aws-cost-and-policy.md, part 2).
 */

/** A nested block as a list, whether cdktf wrote one object or a list. */
function blocksOf(value: unknown): TerraformJson[] {
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : [value]) as TerraformJson[];
}

/** The resource of the same stack that `value` (such as `${aws_iam_role.x.arn}`) refers to. */
function referenced(r: PolicyResource, value: unknown, type: string): TerraformJson | undefined {
  const match = new RegExp(`\\$\\{${type}\\.([A-Za-z0-9_-]+)\\.`).exec(String(value ?? ""));
  return match ? (r.stackJson.resource?.[type]?.[match[1]!] as TerraformJson | undefined) : undefined;
}

/** Every resource of `type` in the stack whose body mentions `r` (its associations, its log deliveries...). */
function referrers(r: PolicyResource, type: string): TerraformJson[] {
  const needle = `\${${r.type}.${r.name}.`;
  const byName = (r.stackJson.resource?.[type] ?? {}) as Record<string, TerraformJson>;
  return Object.values(byName).filter((body) => JSON.stringify(body).includes(needle));
}

function parseJson(text: unknown): TerraformJson | undefined {
  if (typeof text !== "string") return undefined;
  try {
    return JSON.parse(text) as TerraformJson;
  } catch {
    return undefined;
  }
}

function listOf(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

/** The default behaviour and every ordered one, with a label for messages. */
function behaviours(r: PolicyResource): Array<{ label: string; body: TerraformJson }> {
  return [
    ...blocksOf(r.body.default_cache_behavior).map((body) => ({ label: "default behaviour", body })),
    ...blocksOf(r.body.ordered_cache_behavior).map((body) => ({ label: `behaviour ${String(body.path_pattern)}`, body })),
  ];
}

/** The first failing message of a list of (condition, message) pairs. */
function firstFailure(...cases: Array<[boolean, string]>): string | undefined {
  return cases.find(([failed]) => failed)?.[1];
}

/** Managed `CachingDisabled` cache policy. */
const CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad";
/** CloudFront security policies of TLS 1.2 or newer (trivy AWS-0013, checkov CKV_AWS_174). */
const MODERN_TLS = /^TLSv1\.(2|3)_\d{4}$/;
/** Runtimes Lambda@Edge accepts that are not deprecated (checkov CKV_AWS_363). */
const EDGE_RUNTIMES = ["nodejs20.x", "nodejs22.x", "python3.12", "python3.13"];
const YEAR_SECONDS = 31_536_000;

/** Lambda functions of the stack that some distribution associates, with the events they serve. */
function edgeEvents(r: PolicyResource): string[] {
  const needle = `\${aws_lambda_function.${r.name}.`;
  const distributions = Object.values((r.stackJson.resource?.aws_cloudfront_distribution ?? {}) as Record<string, TerraformJson>);
  return distributions.flatMap((d) =>
    [...blocksOf(d.default_cache_behavior), ...blocksOf(d.ordered_cache_behavior)].flatMap((b) =>
      blocksOf(b.lambda_function_association)
        .filter((a) => String(a.lambda_arn).startsWith(needle))
        .map((a) => String(a.event_type)),
    ),
  );
}

const CLOUDFRONT_CHECKS: PolicyCheck[] = [
  {
    id: "OHT_CF_001",
    title: "CloudFront distributions have a WAF web ACL (CKV_AWS_68, AWS-0011, cdk-nag CFR2)",
    resourceTypes: ["aws_cloudfront_distribution"],
    evaluate: (r) => (r.body.web_acl_id ? undefined : "no web_acl_id: requests reach the origin unfiltered"),
  },
  {
    id: "OHT_CF_002",
    title: "Viewers use HTTPS on every behaviour (CKV_AWS_34, AWS-0012)",
    resourceTypes: ["aws_cloudfront_distribution"],
    evaluate(r) {
      const plain = behaviours(r).find((b) => !["redirect-to-https", "https-only"].includes(String(b.body.viewer_protocol_policy)));
      return plain ? `${plain.label} allows ${String(plain.body.viewer_protocol_policy)}` : undefined;
    },
  },
  {
    id: "OHT_CF_003",
    title: "Viewers get TLS 1.2_2021 or newer on our own certificate (CKV_AWS_174, CKV2_AWS_42, AWS-0013, cdk-nag CFR4)",
    resourceTypes: ["aws_cloudfront_distribution"],
    evaluate(r) {
      const cert = blocksOf(r.body.viewer_certificate)[0] ?? {};
      const version = String(cert.minimum_protocol_version ?? "TLSv1");
      return firstFailure(
        [cert.cloudfront_default_certificate === true || !cert.acm_certificate_arn, "uses the default *.cloudfront.net certificate (TLSv1 only)"],
        [!MODERN_TLS.test(version) || version < "TLSv1.2_2021", `minimum_protocol_version is ${version}`],
        [cert.ssl_support_method !== "sni-only", `ssl_support_method is ${String(cert.ssl_support_method)} (a dedicated IP costs $600 a month)`],
      );
    },
  },
  {
    id: "OHT_CF_004",
    title: "Origins are reached over HTTPS with TLS 1.2 only (CKV2_AWS_72, cdk-nag CFR5)",
    resourceTypes: ["aws_cloudfront_distribution"],
    evaluate(r) {
      for (const origin of blocksOf(r.body.origin)) {
        const vpc = blocksOf(origin.vpc_origin_config)[0];
        if (vpc) {
          const target = referenced(r, vpc.vpc_origin_id, "aws_cloudfront_vpc_origin");
          if (!target) return `origin ${String(origin.origin_id)}: its VPC origin is not in this stack, its protocol cannot be checked`;
          continue;
        }
        const custom = blocksOf(origin.custom_origin_config)[0];
        if (!custom) continue;
        const failure = firstFailure(
          [custom.origin_protocol_policy !== "https-only", `origin ${String(origin.origin_id)} uses ${String(custom.origin_protocol_policy)}`],
          [listOf(custom.origin_ssl_protocols).some((p) => p !== "TLSv1.2"), `origin ${String(origin.origin_id)} allows ${listOf(custom.origin_ssl_protocols).join(", ")}`],
        );
        if (failure) return failure;
      }
      return undefined;
    },
  },
  {
    id: "OHT_CF_005",
    title: "VPC origins speak HTTPS with TLS 1.2 only (CKV2_AWS_72)",
    resourceTypes: ["aws_cloudfront_vpc_origin"],
    evaluate(r) {
      const config = blocksOf(r.body.vpc_origin_endpoint_config)[0] ?? {};
      const protocols = blocksOf(config.origin_ssl_protocols).flatMap((p) => listOf(p.items));
      return firstFailure(
        [config.origin_protocol_policy !== "https-only", `origin_protocol_policy is ${String(config.origin_protocol_policy)}: cookies and identity headers travel in clear`],
        [protocols.length === 0 || protocols.some((p) => p !== "TLSv1.2"), `origin_ssl_protocols are ${protocols.join(", ") || "unset"}`],
      );
    },
  },
  {
    id: "OHT_CF_006",
    title: "Every behaviour has a response headers policy (CKV2_AWS_32)",
    resourceTypes: ["aws_cloudfront_distribution"],
    evaluate(r) {
      const bare = behaviours(r).find((b) => !b.body.response_headers_policy_id);
      return bare ? `${bare.label} has no response headers policy` : undefined;
    },
  },
  {
    id: "OHT_CF_007",
    title: "Response headers policies send HSTS for a year or more and nosniff (CKV_AWS_259)",
    resourceTypes: ["aws_cloudfront_response_headers_policy"],
    evaluate(r) {
      const security = blocksOf(r.body.security_headers_config)[0] ?? {};
      const hsts = blocksOf(security.strict_transport_security)[0];
      return firstFailure(
        [!hsts, "no Strict-Transport-Security: a first plain-HTTP visit can be downgraded"],
        [Number(hsts?.access_control_max_age_sec ?? 0) < YEAR_SECONDS, `HSTS max-age is ${String(hsts?.access_control_max_age_sec)} s (expected a year or more)`],
        [blocksOf(security.content_type_options).length === 0, "no X-Content-Type-Options: nosniff"],
      );
    },
  },
  {
    id: "OHT_CF_008",
    title: "Every behaviour runs the viewer-request authentication function: nothing reaches the origin unauthenticated",
    resourceTypes: ["aws_cloudfront_distribution"],
    evaluate(r) {
      const open = behaviours(r).find(
        (b) => !blocksOf(b.body.lambda_function_association).some((a) => a.event_type === "viewer-request"),
      );
      return open ? `${open.label} has no viewer-request function` : undefined;
    },
  },
  {
    id: "OHT_CF_009",
    title: "Lambda@Edge associations name a published version, never $LATEST or an alias",
    resourceTypes: ["aws_cloudfront_distribution"],
    evaluate(r) {
      for (const b of behaviours(r)) {
        for (const a of blocksOf(b.body.lambda_function_association)) {
          const arn = String(a.lambda_arn);
          if (!/\.qualified_arn\}$/.test(arn) && !/:function:[^:]+:\d+$/.test(arn)) return `${b.label}: ${a.event_type} uses ${arn}`;
          // The body of a viewer event is capped at 40 KB and costs time: authentication needs headers only.
          if (a.include_body === true) return `${b.label}: ${a.event_type} receives the request body`;
        }
      }
      return undefined;
    },
  },
  {
    id: "OHT_CF_010",
    title: "Behaviours that cache share nothing per user: no cookies in the key or to the origin (cache poisoning, session leaks)",
    resourceTypes: ["aws_cloudfront_distribution"],
    evaluate(r) {
      for (const b of behaviours(r)) {
        const cachePolicyId = String(b.body.cache_policy_id ?? "");
        if (!cachePolicyId) return `${b.label} has no cache policy (legacy forwarded_values)`;
        if (cachePolicyId === CACHING_DISABLED) continue;
        const cache = referenced(r, cachePolicyId, "aws_cloudfront_cache_policy");
        if (!cache) return `${b.label} caches with a policy that is not in this stack`;
        const key = blocksOf(cache.parameters_in_cache_key_and_forwarded_to_origin)[0] ?? {};
        const cookies = blocksOf(key.cookies_config)[0]?.cookie_behavior;
        if (cookies !== "none") return `${b.label} keys its cache on cookies (${String(cookies)})`;
        const request = referenced(r, b.body.origin_request_policy_id, "aws_cloudfront_origin_request_policy");
        const forwarded = request ? blocksOf(request.cookies_config)[0]?.cookie_behavior : "unknown";
        if (forwarded !== "none") return `${b.label} caches responses to requests that carry cookies (${String(forwarded)})`;
      }
      return undefined;
    },
  },
  {
    id: "OHT_CF_011",
    title: "Access logs are delivered (CKV_AWS_86, AWS-0010, cdk-nag CFR3)",
    resourceTypes: ["aws_cloudfront_distribution"],
    evaluate(r) {
      if (blocksOf(r.body.logging_config).length > 0) return undefined;
      const sources = referrers(r, "aws_cloudwatch_log_delivery_source");
      return sources.length > 0 ? undefined : "no logging_config and no log delivery source";
    },
  },
];

const WAF_CHECKS: PolicyCheck[] = [
  {
    id: "OHT_WAF_001",
    title: "Web ACLs have rules, each with an action and metrics (CKV_AWS_175, CKV_AWS_342)",
    resourceTypes: ["aws_wafv2_web_acl"],
    evaluate(r) {
      const rules = blocksOf(r.body.rule);
      if (rules.length === 0) return "no rules: the default action decides alone";
      const bad = rules.find((rule) => !rule.action && !rule.override_action);
      if (bad) return `rule ${String(bad.name)} has neither action nor override_action`;
      const blind = rules.find((rule) => blocksOf(rule.visibility_config)[0]?.cloudwatch_metrics_enabled !== true);
      return blind ? `rule ${String(blind.name)} publishes no metrics` : undefined;
    },
  },
  {
    id: "OHT_WAF_002",
    title: "Web ACLs use AWS's common, known-bad-inputs (Log4Shell) and IP reputation rule groups (CKV_AWS_192, CKV2_AWS_47)",
    resourceTypes: ["aws_wafv2_web_acl"],
    evaluate(r) {
      const groups = blocksOf(r.body.rule).flatMap((rule) =>
        blocksOf(rule.statement).flatMap((s) => blocksOf(s.managed_rule_group_statement).map((m) => String(m.name))),
      );
      const missing = ["AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesAmazonIpReputationList"].filter(
        (name) => !groups.includes(name),
      );
      return missing.length ? `missing ${missing.join(", ")}` : undefined;
    },
  },
  {
    id: "OHT_WAF_003",
    title: "Web ACLs block floods with a rate-based rule per client IP",
    resourceTypes: ["aws_wafv2_web_acl"],
    evaluate(r) {
      const rate = blocksOf(r.body.rule).find((rule) => blocksOf(rule.statement).some((s) => s.rate_based_statement));
      if (!rate) return "no rate-based rule";
      const statement = blocksOf(blocksOf(rate.statement)[0]?.rate_based_statement)[0] ?? {};
      return firstFailure(
        [!blocksOf(rate.action)[0]?.block, `rate rule ${String(rate.name)} does not block`],
        [statement.aggregate_key_type !== "IP", `rate rule aggregates by ${String(statement.aggregate_key_type)}, not the client IP`],
      );
    },
  },
  {
    id: "OHT_WAF_004",
    title: "Managed rules only count where the reason is written down (COUNTED_COMMON_RULES: body rules that match code)",
    resourceTypes: ["aws_wafv2_web_acl"],
    evaluate(r) {
      const counted = blocksOf(r.body.rule).flatMap((rule) =>
        blocksOf(rule.statement).flatMap((s) =>
          blocksOf(s.managed_rule_group_statement).flatMap((m) =>
            blocksOf(m.rule_action_override)
              .filter((o) => blocksOf(o.action_to_use)[0]?.count)
              .map((o) => String(o.name)),
          ),
        ),
      );
      const whole = blocksOf(r.body.rule).find((rule) => blocksOf(rule.override_action)[0]?.count);
      if (whole) return `rule group ${String(whole.name)} only counts`;
      const unexplained = counted.filter((name) => !COUNTED_COMMON_RULES[name]);
      return unexplained.length ? `counted without a written reason: ${unexplained.join(", ")}` : undefined;
    },
  },
  {
    id: "OHT_WAF_005",
    title: "Web ACL requests are logged, with cookies and query strings redacted (CKV2_AWS_31)",
    resourceTypes: ["aws_wafv2_web_acl"],
    evaluate(r) {
      const logging = referrers(r, "aws_wafv2_web_acl_logging_configuration")[0];
      if (!logging) return "no logging configuration";
      const redacted = JSON.stringify(logging.redacted_fields ?? []);
      return redacted.includes('"cookie"') && redacted.includes("query_string") ? undefined : "session cookies or query strings reach the logs";
    },
  },
];

const COGNITO_CHECKS: PolicyCheck[] = [
  {
    id: "OHT_COG_001",
    title: "User pools require 12+ character passwords of every class (cdk-nag COG1)",
    resourceTypes: ["aws_cognito_user_pool"],
    evaluate(r) {
      const p = blocksOf(r.body.password_policy)[0];
      if (!p) return "no password policy";
      const weak = ["require_lowercase", "require_uppercase", "require_numbers", "require_symbols"].filter((k) => p[k] !== true);
      return firstFailure(
        [Number(p.minimum_length ?? 8) < 12, `minimum_length is ${String(p.minimum_length ?? 8)}`],
        [weak.length > 0, `not required: ${weak.join(", ")}`],
      );
    },
  },
  {
    id: "OHT_COG_002",
    title: "User pools have TOTP MFA, on or optional, never SMS only (cdk-nag COG2, KICS Cognito UserPool Without MFA)",
    resourceTypes: ["aws_cognito_user_pool"],
    evaluate(r) {
      const mfa = String(r.body.mfa_configuration ?? "OFF");
      return firstFailure(
        [mfa === "OFF", "MFA is off: a leaked password is enough to sign in"],
        [blocksOf(r.body.software_token_mfa_configuration)[0]?.enabled !== true, "TOTP is not enabled"],
      );
    },
  },
  {
    id: "OHT_COG_003",
    title: "User pools have deletion protection and admin-only sign-up",
    resourceTypes: ["aws_cognito_user_pool"],
    evaluate: (r) =>
      firstFailure(
        [r.body.deletion_protection !== "ACTIVE", "deletion_protection is not ACTIVE: a destroy deletes every user"],
        [blocksOf(r.body.admin_create_user_config)[0]?.allow_admin_create_user_only !== true, "anyone who finds the login page can sign up"],
      ),
  },
  {
    id: "OHT_COG_004",
    title: "App clients use the authorization code flow only, with exact HTTPS callback URLs",
    resourceTypes: ["aws_cognito_user_pool_client"],
    evaluate(r) {
      const flows = listOf(r.body.allowed_oauth_flows);
      const urls = [...listOf(r.body.callback_urls), ...listOf(r.body.logout_urls)];
      return firstFailure(
        // The implicit flow returns tokens in URL fragments (history, referrers, logs).
        [flows.length !== 1 || flows[0] !== "code", `allowed_oauth_flows are ${flows.join(", ") || "unset"}`],
        [urls.length === 0, "no callback or logout URLs"],
        // A wildcard or plain-HTTP callback lets a code be sent where an attacker can read it.
        [urls.some((u) => !u.startsWith("https://") || u.includes("*") || /localhost|127\.0\.0\.1/.test(u)), `callback or logout URL not exact HTTPS: ${urls.join(", ")}`],
      );
    },
  },
  {
    id: "OHT_COG_005",
    title: "App clients hide whether a user exists and can revoke tokens",
    resourceTypes: ["aws_cognito_user_pool_client"],
    evaluate: (r) =>
      firstFailure(
        [r.body.prevent_user_existence_errors !== "ENABLED", "prevent_user_existence_errors is not ENABLED (account enumeration)"],
        [r.body.enable_token_revocation === false, "token revocation is off: logout cannot end a stolen refresh token"],
      ),
  },
];

const LAMBDA_EDGE_CHECKS: PolicyCheck[] = [
  {
    id: "OHT_LE_001",
    title: "Lambda@Edge functions: supported runtime, x86_64, published versions (CKV_AWS_363)",
    resourceTypes: ["aws_lambda_function"],
    evaluate(r) {
      if (edgeEvents(r).length === 0) return undefined;
      const arch = listOf(r.body.architectures);
      return firstFailure(
        [!EDGE_RUNTIMES.includes(String(r.body.runtime)), `runtime ${String(r.body.runtime)} is not one Lambda@Edge supports`],
        [arch.some((a) => a !== "x86_64"), `architectures ${arch.join(", ")}: Lambda@Edge runs x86_64 only`],
        [r.body.publish !== true, "publish is not true: CloudFront needs a numbered version"],
      );
    },
  },
  {
    id: "OHT_LE_002",
    title: "Lambda@Edge functions use nothing Lambda@Edge refuses: environment, VPC, layers, DLQ (CKV_AWS_117, CKV_AWS_173)",
    resourceTypes: ["aws_lambda_function"],
    evaluate(r) {
      if (edgeEvents(r).length === 0) return undefined;
      const refused = ["environment", "vpc_config", "layers", "dead_letter_config", "image_uri"].filter((k) => r.body[k] !== undefined);
      return refused.length ? `sets ${refused.join(", ")}` : undefined;
    },
  },
  {
    id: "OHT_LE_003",
    title: "Viewer-event functions stay within 128 MB and 5 seconds",
    resourceTypes: ["aws_lambda_function"],
    evaluate(r) {
      if (!edgeEvents(r).some((e) => e.startsWith("viewer-"))) return undefined;
      return firstFailure(
        [Number(r.body.memory_size ?? 128) > 128, `memory_size ${String(r.body.memory_size)} MB`],
        [Number(r.body.timeout ?? 3) > 5, `timeout ${String(r.body.timeout)} s`],
      );
    },
  },
  {
    id: "OHT_LE_004",
    title: "Lambda@Edge roles trust lambda and edgelambda, and read only named SSM parameters",
    resourceTypes: ["aws_lambda_function"],
    evaluate(r) {
      if (edgeEvents(r).length === 0) return undefined;
      const role = referenced(r, r.body.role, "aws_iam_role");
      if (!role) return "its role is not in this stack";
      const trust = parseJson(role.assume_role_policy);
      const principals = (trust?.Statement as TerraformJson[] | undefined)?.flatMap((s) => listOf(s.Principal?.Service)) ?? [];
      const untrusted = ["lambda.amazonaws.com", "edgelambda.amazonaws.com"].filter((p) => !principals.includes(p));
      if (untrusted.length) return `the role does not trust ${untrusted.join(", ")}`;
      const roleName = /\$\{aws_iam_role\.([A-Za-z0-9_-]+)\./.exec(String(r.body.role))![1];
      const policies = Object.values((r.stackJson.resource?.aws_iam_role_policy ?? {}) as Record<string, TerraformJson>).filter((p) =>
        String(p.role).includes(`aws_iam_role.${roleName}.`),
      );
      for (const policy of policies) {
        for (const statement of (parseJson(policy.policy)?.Statement as TerraformJson[] | undefined) ?? []) {
          const actions = listOf(statement.Action);
          if (!actions.some((a) => a.toLowerCase().startsWith("ssm:"))) continue;
          // A wildcard parameter would let the edge read every secret of the account.
          const broad = listOf(statement.Resource).find((res) => res.includes("*"));
          if (broad) return `reads SSM parameters through a wildcard: ${broad}`;
        }
      }
      return undefined;
    },
  },
];

const OTHER_EDGE_CHECKS: PolicyCheck[] = [
  {
    id: "OHT_ACM_001",
    title: "Certificates are DNS-validated (renewal needs no one to click an e-mail)",
    resourceTypes: ["aws_acm_certificate"],
    evaluate: (r) => (r.body.validation_method === "DNS" ? undefined : `validation_method is ${String(r.body.validation_method)}`),
  },
  {
    id: "OHT_EDGE_001",
    title: "The edge secrets parameter is written once through value_wo: no key in cdktf.out or state, never overwritten",
    resourceTypes: ["aws_ssm_parameter"],
    evaluate(r) {
      if (!String(r.body.name ?? "").endsWith("/edge/secrets")) return undefined;
      const ignored = listOf(r.body.lifecycle?.ignore_changes);
      return firstFailure(
        [r.body.type !== "SecureString", `type is ${String(r.body.type)}`],
        [r.body.value !== undefined || r.body.insecure_value !== undefined, "value is set: Terraform stores and re-reads it in state"],
        [r.body.value_wo !== '{"unset":true}', `value_wo is not the placeholder {"unset":true}`],
        [!ignored.includes("value") || !ignored.includes("value_wo_version"), "a later plan could write over the host's keys (ignore_changes)"],
      );
    },
  },
];

/** Checks of the us-east-1 stacks (CloudFront, WAF, Cognito, Lambda@Edge, ACM, Route 53). */
export const EDGE_CHECKS: readonly PolicyCheck[] = [
  ...CLOUDFRONT_CHECKS,
  ...WAF_CHECKS,
  ...COGNITO_CHECKS,
  ...LAMBDA_EDGE_CHECKS,
  ...OTHER_EDGE_CHECKS,
];

/** Deliberate exceptions in the us-east-1 stacks, each with its reason. */
export const EDGE_SUPPRESSIONS: readonly PolicySuppression[] = [
  {
    checkId: "OHT_CF_011",
    resource: "*",
    justification:
      "Access logs are opt-in (edge.accessLogs: true delivers them to CloudWatch Logs without query strings or cookies); by default WAF's sampled requests and CloudFront's metrics cover a small team at no log cost",
  },
  {
    checkId: "OHT_WAF_005",
    resource: "*",
    justification:
      "WAF request logs come with edge.accessLogs: true (cookies, authorization and query strings redacted); by default sampled requests and per-rule metrics are kept",
  },
];
