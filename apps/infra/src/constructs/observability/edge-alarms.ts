import { Construct } from "constructs";
import type { TerraformProvider } from "cdktf";
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";

export interface EdgeAlarmsProps {
  readonly namePrefix: string;
  /** The us-east-1 provider: CloudFront and CloudFront-scope WAF publish their metrics there. */
  readonly provider: TerraformProvider;
  /** SNS topic in us-east-1 (an alarm notifies topics of its own region only). */
  readonly topicArn: string;
  /** Distribution ids, app first. */
  readonly distributionIds: readonly string[];
  /** Name of the CloudFront-scope web ACL. */
  readonly webAclName: string;
  /** Blocked requests in 5 minutes that count as an attack worth a look. @default 1000 */
  readonly blockedRequestsThreshold?: number;
}

/**
 * Alarms on the edge, in us-east-1: each distribution's 5xx error rate (the origin or the edge functions
 * failing users) and a burst of requests blocked by WAF.
 */
export class EdgeAlarms extends Construct {
  readonly alarmNames: readonly string[];

  constructor(scope: Construct, id: string, props: EdgeAlarmsProps) {
    super(scope, id);
    const shared = {
      provider: props.provider,
      actionsEnabled: true,
      alarmActions: [props.topicArn],
      okActions: [props.topicArn],
      treatMissingData: "notBreaching",
    };
    const names: string[] = [];
    props.distributionIds.forEach((distributionId, i) => {
      const which = i === 0 ? "app" : i === 1 ? "runtime" : `distribution-${i}`;
      const alarm = new CloudwatchMetricAlarm(this, `${which}-5xx-rate`, {
        ...shared,
        alarmName: `${props.namePrefix}-cloudfront-${which}-5xx-rate`,
        alarmDescription: `More than 5 % of the ${which} distribution's responses are 5xx for 15 minutes`,
        namespace: "AWS/CloudFront",
        metricName: "5xxErrorRate",
        dimensions: { DistributionId: distributionId, Region: "Global" },
        statistic: "Average",
        period: 300,
        evaluationPeriods: 3,
        threshold: 5,
        comparisonOperator: "GreaterThanThreshold",
      });
      names.push(alarm.alarmName);
    });
    const blocked = new CloudwatchMetricAlarm(this, "waf-blocked", {
      ...shared,
      alarmName: `${props.namePrefix}-waf-blocked-burst`,
      alarmDescription: "WAF blocks a burst of requests (rate limit, bad inputs, allow list): an attack or a misconfigured client",
      namespace: "AWS/WAFV2",
      metricName: "BlockedRequests",
      dimensions: { WebACL: props.webAclName, Rule: "ALL" },
      statistic: "Sum",
      period: 300,
      evaluationPeriods: 1,
      threshold: props.blockedRequestsThreshold ?? 1000,
      comparisonOperator: "GreaterThanThreshold",
    });
    names.push(blocked.alarmName);
    this.alarmNames = names;
  }
}
