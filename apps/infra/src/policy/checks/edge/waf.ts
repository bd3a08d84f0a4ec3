import { COUNTED_COMMON_RULES } from "../../../constructs/edge/web-acl";
import type { PolicyCheck } from "../../types";
import { blocks, companions, firstFailure, referenced } from "../../graph";

/** WAF web ACLs. */
export const WAF_CHECKS: readonly PolicyCheck[] = [
  {
    id: "OHT_WAF_001",
    title: "Web ACLs have rules, each with an action and metrics (CKV_AWS_175, CKV_AWS_342)",
    resourceTypes: ["aws_wafv2_web_acl"],
    evaluate(r) {
      const rules = blocks(r.body.rule);
      if (rules.length === 0) return "no rules: the default action decides alone";
      const bad = rules.find((rule) => !rule.action && !rule.override_action);
      if (bad) return `rule ${String(bad.name)} has neither action nor override_action`;
      const blind = rules.find((rule) => blocks(rule.visibility_config)[0]?.cloudwatch_metrics_enabled !== true);
      return blind ? `rule ${String(blind.name)} publishes no metrics` : undefined;
    },
  },
  {
    id: "OHT_WAF_002",
    title: "Web ACLs use AWS's common, known-bad-inputs (Log4Shell) and IP reputation rule groups (CKV_AWS_192, CKV2_AWS_47)",
    resourceTypes: ["aws_wafv2_web_acl"],
    evaluate(r) {
      const groups = blocks(r.body.rule).flatMap((rule) =>
        blocks(rule.statement).flatMap((s) => blocks(s.managed_rule_group_statement).map((m) => String(m.name))),
      );
      const missing = [
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
      ].filter((name) => !groups.includes(name));
      return missing.length ? `missing ${missing.join(", ")}` : undefined;
    },
  },
  {
    id: "OHT_WAF_003",
    title: "Web ACLs block floods with a rate-based rule per client IP",
    resourceTypes: ["aws_wafv2_web_acl"],
    evaluate(r) {
      const rate = blocks(r.body.rule).find((rule) => blocks(rule.statement).some((s) => s.rate_based_statement));
      if (!rate) return "no rate-based rule";
      const statement = blocks(blocks(rate.statement)[0]?.rate_based_statement)[0] ?? {};
      return firstFailure(
        [!blocks(rate.action)[0]?.block, `rate rule ${String(rate.name)} does not block`],
        [statement.aggregate_key_type !== "IP", `rate rule aggregates by ${String(statement.aggregate_key_type)}, not the client IP`],
      );
    },
  },
  {
    id: "OHT_WAF_004",
    title: "Managed rules only count where the reason is written down (COUNTED_COMMON_RULES: body rules that match code)",
    resourceTypes: ["aws_wafv2_web_acl"],
    evaluate(r) {
      const counted = blocks(r.body.rule).flatMap((rule) =>
        blocks(rule.statement).flatMap((s) =>
          blocks(s.managed_rule_group_statement).flatMap((m) =>
            blocks(m.rule_action_override)
              .filter((o) => blocks(o.action_to_use)[0]?.count)
              .map((o) => String(o.name)),
          ),
        ),
      );
      const whole = blocks(r.body.rule).find((rule) => blocks(rule.override_action)[0]?.count);
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
      const logging = companions(r, "aws_wafv2_web_acl_logging_configuration")[0];
      if (!logging) return "no logging configuration";
      const redacted = JSON.stringify(logging.redacted_fields ?? []);
      return redacted.includes('"cookie"') && redacted.includes("query_string")
        ? undefined
        : "session cookies or query strings reach the logs";
    },
  },
  {
    id: "OHT_WAF_006",
    title: "A distribution that serves IPv6 is not behind an allow list of IPv4 ranges only (every IPv6 viewer would be blocked)",
    resourceTypes: ["aws_cloudfront_distribution"],
    evaluate(r) {
      if (r.body.is_ipv6_enabled === false || r.body.is_ipv6_enabled === "false") return undefined;
      const acl = referenced(r, r.body.web_acl_id, "aws_wafv2_web_acl");
      if (!acl) return undefined;
      const sets = (JSON.stringify(acl.rule ?? []).match(/\$\{aws_wafv2_ip_set\.[A-Za-z0-9_-]+\.arn\}/g) ?? []).map((arn) =>
        referenced(r, arn, "aws_wafv2_ip_set"),
      );
      if (sets.length === 0) return undefined;
      return sets.some((set) => set?.ip_address_version === "IPV6")
        ? undefined
        : "IPv6 is enabled but the web ACL's IP sets are IPv4 only: disable IPv6 (and AAAA records) or add an IPv6 set";
    },
  },
];
