import { Construct } from "constructs";
import { CloudwatchLogMetricFilter } from "@cdktf/provider-aws/lib/cloudwatch-log-metric-filter";
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";

/**
 * What the LLM gateway's hook prints to the host log group (packages/bootstrap-scripts/files/host-bundle/llm-gateway/
 * oh_llm_gateway.py): one `llm_usage` JSON line per model call (user, model, input_tokens, output_tokens, cost_usd; no
 * text), one `llm_spend_alert` line when a person's spend of the month crosses bedrock.perUser.monthlySpendAlertUsd.
 */
export const LLM_USAGE_EVENTS = {
  usage: { event: "llm_usage", spendMetric: "LlmSpendUsd" },
  spendAlert: { event: "llm_spend_alert", metric: "LlmSpendAlerts" },
} as const;

/** A metric filter's dimensions can only come from the record, so each deployment's metrics get a namespace of their own. */
export function llmUsageNamespace(deployment: string): string {
  return `OpenHandsTeam/${deployment}`;
}

/** Logs Insights: spend, tokens and calls per person over the dashboard's time range, the biggest spender first. */
export function llmSpendPerPersonQuery(logGroupName: string): string {
  return [
    `SOURCE '${logGroupName}'`,
    `filter event = "${LLM_USAGE_EVENTS.usage.event}"`,
    "stats sum(cost_usd) as spend_usd, sum(input_tokens) as input_tokens, sum(output_tokens) as output_tokens, count(*) as calls by user",
    "sort spend_usd desc",
  ].join(" | ");
}

export interface LlmUsageMonitoringProps {
  readonly namePrefix: string;
  /** The host log group, where the LLM gateway's container logs. */
  readonly hostLogGroupName: string;
  /** `<name>-<environment>`, in the metrics' namespace. */
  readonly deployment: string;
  readonly topicArn: string;
}

/**
 * Spend per person from the LLM gateway's records: the team's estimated spend as a metric (a metric filter summing
 * cost_usd), and an alarm when any person's monthly spend crosses its threshold (the hook writes one llm_spend_alert
 * record per person and month; a CloudWatch alarm cannot look back a whole month itself). The record names the
 * person: `pnpm usage --user <slug>` shows the detail.
 */
export class LlmUsageMonitoring extends Construct {
  readonly alarmName: string;
  readonly alarmArn: string;

  constructor(scope: Construct, id: string, props: LlmUsageMonitoringProps) {
    super(scope, id);
    const { usage, spendAlert } = LLM_USAGE_EVENTS;
    const namespace = llmUsageNamespace(props.deployment);
    new CloudwatchLogMetricFilter(this, "spend", {
      name: `${props.namePrefix}-llm-spend`,
      logGroupName: props.hostLogGroupName,
      pattern: `{ $.event = "${usage.event}" && $.cost_usd = * }`,
      metricTransformation: { namespace, name: usage.spendMetric, value: "$.cost_usd", unit: "None" },
    });
    new CloudwatchLogMetricFilter(this, "spend-alerts", {
      name: `${props.namePrefix}-llm-spend-alerts`,
      logGroupName: props.hostLogGroupName,
      pattern: `{ $.event = "${spendAlert.event}" }`,
      metricTransformation: { namespace, name: spendAlert.metric, value: "1", unit: "Count" },
    });
    const alarm = new CloudwatchMetricAlarm(this, "spend-alert", {
      alarmName: `${props.namePrefix}-llm-monthly-spend`,
      alarmDescription:
        "A person's estimated LLM spend this month crossed bedrock.perUser.monthlySpendAlertUsd; " +
        "the llm_spend_alert record in the host log group names them (pnpm usage --user <slug>)",
      namespace,
      metricName: spendAlert.metric,
      statistic: "Sum",
      period: 300,
      evaluationPeriods: 1,
      threshold: 1,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      treatMissingData: "notBreaching",
      alarmActions: [props.topicArn],
      okActions: [props.topicArn],
      actionsEnabled: true,
    });
    this.alarmName = alarm.alarmName;
    this.alarmArn = alarm.arn;
  }
}
