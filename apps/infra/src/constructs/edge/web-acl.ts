import { Construct } from "constructs";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { Wafv2IpSet } from "@cdktf/provider-aws/lib/wafv2-ip-set";
import { Wafv2WebAcl, type Wafv2WebAclRule } from "@cdktf/provider-aws/lib/wafv2-web-acl";
import { Wafv2WebAclLoggingConfiguration } from "@cdktf/provider-aws/lib/wafv2-web-acl-logging-configuration";

export interface EdgeWebAclProps {
  /** Name of the web ACL (and prefix of its IP sets and metrics). */
  readonly name: string;
  /** Requests per client IP per 5 minutes before the rate-based rule blocks that IP. */
  readonly rateLimitPer5Minutes: number;
  /** If not empty, only these IPv4/IPv6 CIDRs pass; everyone else is blocked first. @default [] (everyone) */
  readonly allowedCidrs?: readonly string[];
  /** Log every request WAF sees to CloudWatch Logs (`aws-waf-logs-<name>`), cookies and query strings redacted. @default false */
  readonly logging?: boolean;
  /** Retention of that log group in days. @default 30 */
  readonly logRetentionDays?: number;
}

/**
 * Rules of the common rule set that only count, each with its reason. Their matches are still recorded
 * (metrics, sampled requests); everything else in the set blocks.
 *
 * OpenHands' requests carry source code by design (a conversation's first message, settings, file uploads):
 * bodies over 8 KB are normal, and code contains HTML tags, relative paths and URLs that the body rules take
 * for cross-site scripting, file inclusion or remote inclusion. Blocking them would refuse ordinary work;
 * nothing in OpenHands renders or includes those bodies on the server.
 */
export const COUNTED_COMMON_RULES: Readonly<Record<string, string>> = {
  SizeRestrictions_BODY: "bodies over 8 KB are normal (first messages with code or images, settings with MCP servers, file uploads)",
  CrossSiteScripting_BODY: "pasted code contains HTML and <script> tags; the API stores it, no page renders it unescaped",
  GenericLFI_BODY: "code and prompts contain relative paths such as ../src; the server reads no file named in a body",
  GenericRFI_BODY: "code and prompts contain URLs; the server includes no remote file named in a body",
};

/** The AWS managed rule groups, in evaluation order after the allow list. */
export const MANAGED_RULE_GROUPS = [
  { name: "AWSManagedRulesAmazonIpReputationList", priority: 1 },
  { name: "AWSManagedRulesCommonRuleSet", priority: 3, countOnly: Object.keys(COUNTED_COMMON_RULES) },
  { name: "AWSManagedRulesKnownBadInputsRuleSet", priority: 4 },
] as const;

/**
 * The CLOUDFRONT-scope web ACL in front of both hosts: an optional IP allow list, AWS's IP reputation list,
 * a rate limit per client IP, the common rule set and the known-bad-inputs set (Log4Shell and friends).
 */
export class EdgeWebAcl extends Construct {
  readonly webAclArn: string;
  readonly webAclName: string;
  /** Rule names in priority order, for alarms and dashboards. */
  readonly ruleNames: readonly string[];
  /** `aws-waf-logs-<name>`, when logging is on. */
  readonly logGroupName?: string;

  constructor(scope: Construct, id: string, props: EdgeWebAclProps) {
    super(scope, id);
    const visibility = (metricName: string) => ({ cloudwatchMetricsEnabled: true, metricName, sampledRequestsEnabled: true });
    const rules: Wafv2WebAclRule[] = [];

    const allowList = this.allowListStatement(props);
    if (allowList) {
      // Everyone outside the configured networks is refused before any other rule runs.
      rules.push({
        name: "block-outside-allow-list",
        priority: 0,
        action: { block: {} },
        statement: allowList,
        visibilityConfig: visibility(`${props.name}-allow-list`),
      });
    }
    // Rate limit per client IP: slows password guessing on the login round trips and request floods.
    rules.push({
      name: "rate-limit-per-ip",
      priority: 2,
      action: { block: {} },
      statement: { rate_based_statement: { limit: props.rateLimitPer5Minutes, aggregate_key_type: "IP", evaluation_window_sec: 300 } },
      visibilityConfig: visibility(`${props.name}-rate-limit`),
    });
    for (const group of MANAGED_RULE_GROUPS) {
      const countOnly: readonly string[] = "countOnly" in group ? group.countOnly : [];
      rules.push({
        name: group.name,
        priority: group.priority,
        overrideAction: { none: {} },
        statement: {
          managed_rule_group_statement: {
            vendor_name: "AWS",
            name: group.name,
            ...(countOnly.length ? { rule_action_override: countOnly.map((name) => ({ name, action_to_use: { count: {} } })) } : {}),
          },
        },
        visibilityConfig: visibility(`${props.name}-${group.name}`),
      });
    }
    rules.sort((a, b) => a.priority - b.priority);

    const acl = new Wafv2WebAcl(this, "acl", {
      name: props.name,
      description: "OpenHands edge: allow list, IP reputation, rate limit, common rules, known bad inputs",
      scope: "CLOUDFRONT",
      defaultAction: { allow: {} },
      rule: rules,
      visibilityConfig: visibility(props.name),
    });

    if (props.logging) {
      const logGroup = new CloudwatchLogGroup(this, "log-group", {
        // WAF only delivers to log groups whose name starts with aws-waf-logs-.
        name: `aws-waf-logs-${props.name}`,
        retentionInDays: props.logRetentionDays ?? 30,
      });
      this.logGroupName = logGroup.name;
      new Wafv2WebAclLoggingConfiguration(this, "logging", {
        resourceArn: acl.arn,
        logDestinationConfigs: [logGroup.arn],
        // Session cookies, bearer headers and the session keys some runtime URLs carry never reach the logs.
        redactedFields: [{ singleHeader: { name: "cookie" } }, { singleHeader: { name: "authorization" } }, { queryString: {} }],
      });
    }

    this.webAclArn = acl.arn;
    this.webAclName = props.name;
    this.ruleNames = rules.map((rule) => rule.name);
  }

  private allowListStatement(props: EdgeWebAclProps): Record<string, unknown> | undefined {
    const cidrs = props.allowedCidrs ?? [];
    if (cidrs.length === 0) return undefined;
    const byVersion = { IPV4: cidrs.filter((c) => !c.includes(":")), IPV6: cidrs.filter((c) => c.includes(":")) };
    const references = (Object.entries(byVersion) as Array<[keyof typeof byVersion, string[]]>)
      .filter(([, addresses]) => addresses.length > 0)
      .map(([version, addresses]) => {
        const set = new Wafv2IpSet(this, `allow-${version.toLowerCase()}`, {
          name: `${props.name}-allow-${version.toLowerCase()}`,
          scope: "CLOUDFRONT",
          ipAddressVersion: version,
          addresses,
        });
        return { ip_set_reference_statement: { arn: set.arn } };
      });
    const inList = references.length === 1 ? references[0]! : { or_statement: { statement: references } };
    return { not_statement: { statement: inList } };
  }
}
