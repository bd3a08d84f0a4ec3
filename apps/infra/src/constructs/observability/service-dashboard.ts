import { Construct } from "constructs";
import { CloudwatchDashboard } from "@cdktf/provider-aws/lib/cloudwatch-dashboard";
import { llmSpendPerPersonQuery } from "./llm-usage";

export interface ServiceDashboardProps {
  readonly dashboardName: string;
  readonly region: string;
  readonly albArnSuffix: string;
  readonly targetGroupArnSuffix: string;
  readonly autoScalingGroupName: string;
  readonly databaseClusterIdentifier: string;
  readonly fileSystemId: string;
  /** ARNs of the alarms shown in an alarm-status widget. */
  readonly alarmArns: readonly string[];
  /** CloudFront distributions (metrics in us-east-1), app first. @default none */
  readonly distributionIds?: readonly string[];
  /** `<name>-<environment>`: the Deployment dimension of the spawner's metrics, which the host's watchdog publishes. */
  readonly deployment: string;
  /** The host log group, where the LLM gateway's usage records land: a table of spend per person. @default no such table */
  readonly hostLogGroupName?: string;
}

/** Where the host's watchdog publishes the spawner's figures (packages/bootstrap-scripts, bin/oh-health-check.sh). */
export const SPAWNER_METRICS = {
  namespace: "OpenHandsTeam",
  dimension: "Deployment",
  gauges: ["RunningApps", "StartingApps", "RunningSandboxes"],
  counters: ["Starts", "Culls", "Refusals", "Failures"],
} as const;

type Metric = readonly (string | Record<string, unknown>)[];

/** One CloudWatch dashboard of the main region: traffic and errors, host, database, file system, alarms. */
export class ServiceDashboard extends Construct {
  readonly dashboardName: string;

  constructor(scope: Construct, id: string, props: ServiceDashboardProps) {
    super(scope, id);
    const lb = ["LoadBalancer", props.albArnSuffix];
    const tg = ["TargetGroup", props.targetGroupArnSuffix];
    const graph = (title: string, metrics: Metric[], x: number, y: number, stat = "Sum", region = props.region) => ({
      type: "metric",
      x,
      y,
      width: 12,
      height: 6,
      properties: { title, region, view: "timeSeries", stacked: false, period: 300, stat, metrics },
    });
    const distributions = props.distributionIds ?? [];
    const widgets = [
      graph(
        "Requests and errors (ALB)",
        [
          ["AWS/ApplicationELB", "RequestCount", ...lb],
          ["AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", ...lb],
          ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", ...lb, ...tg],
          ["AWS/ApplicationELB", "HTTPCode_Target_4XX_Count", ...lb, ...tg],
        ],
        0,
        0,
      ),
      graph("Response time p90 (s)", [["AWS/ApplicationELB", "TargetResponseTime", ...lb, { stat: "p90" }]], 12, 0, "Average"),
      graph(
        "Healthy and unhealthy hosts",
        [
          ["AWS/ApplicationELB", "HealthyHostCount", ...lb, ...tg],
          ["AWS/ApplicationELB", "UnHealthyHostCount", ...lb, ...tg],
        ],
        0,
        6,
        "Maximum",
      ),
      graph("Host CPU (%)", [["AWS/EC2", "CPUUtilization", "AutoScalingGroupName", props.autoScalingGroupName]], 12, 6, "Average"),
      graph(
        "Aurora capacity (ACU) and connections",
        [
          ["AWS/RDS", "ServerlessDatabaseCapacity", "DBClusterIdentifier", props.databaseClusterIdentifier],
          ["AWS/RDS", "DatabaseConnections", "DBClusterIdentifier", props.databaseClusterIdentifier, { yAxis: "right" }],
        ],
        0,
        12,
        "Average",
      ),
      graph(
        "EFS I/O (%) and throughput",
        [
          ["AWS/EFS", "PercentIOLimit", "FileSystemId", props.fileSystemId],
          ["AWS/EFS", "MeteredIOBytes", "FileSystemId", props.fileSystemId, { yAxis: "right", stat: "Sum" }],
        ],
        12,
        12,
        "Maximum",
      ),
      ...(distributions.length
        ? [
            graph(
              "CloudFront requests",
              distributions.map((id) => ["AWS/CloudFront", "Requests", "DistributionId", id, "Region", "Global"]),
              0,
              18,
              "Sum",
              "us-east-1",
            ),
            graph(
              "CloudFront 5xx rate (%)",
              distributions.map((id) => ["AWS/CloudFront", "5xxErrorRate", "DistributionId", id, "Region", "Global"]),
              12,
              18,
              "Average",
              "us-east-1",
            ),
          ]
        : []),
      graph(
        "People and sandboxes running (spawner)",
        SPAWNER_METRICS.gauges.map((name) => [SPAWNER_METRICS.namespace, name, SPAWNER_METRICS.dimension, props.deployment]),
        0,
        24,
        "Maximum",
      ),
      graph(
        "Starts, culls, refusals, failures (spawner)",
        SPAWNER_METRICS.counters.map((name) => [SPAWNER_METRICS.namespace, name, SPAWNER_METRICS.dimension, props.deployment]),
        12,
        24,
        "Sum",
      ),
      ...(props.hostLogGroupName
        ? [
            {
              type: "log",
              x: 0,
              y: 30,
              width: 24,
              height: 6,
              properties: {
                title: "LLM spend per person (USD, LiteLLM's estimate; user = slug, `pnpm users list --json`)",
                region: props.region,
                view: "table",
                query: llmSpendPerPersonQuery(props.hostLogGroupName),
              },
            },
          ]
        : []),
      {
        type: "alarm",
        x: 0,
        y: 36,
        width: 24,
        height: 4,
        properties: { title: "Alarms", alarms: [...props.alarmArns] },
      },
    ];
    const dashboard = new CloudwatchDashboard(this, "dashboard", {
      dashboardName: props.dashboardName,
      dashboardBody: JSON.stringify({ widgets }),
    });
    this.dashboardName = dashboard.dashboardName;
  }
}
