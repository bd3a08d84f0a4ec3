import { Construct } from "constructs";
import { CloudwatchMetricAlarm, type CloudwatchMetricAlarmConfig } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";

export interface ServiceAlarmsProps {
  readonly namePrefix: string;
  /** SNS topic of alarm and recovery notifications. */
  readonly topicArn: string;
  /** `app/<name>/<id>` of the ALB (CloudWatch dimension). */
  readonly albArnSuffix: string;
  /** `targetgroup/<name>/<id>` of the host's target group. */
  readonly targetGroupArnSuffix: string;
  readonly autoScalingGroupName: string;
  readonly databaseClusterIdentifier: string;
  /** Maximum ACU of the cluster, for the capacity alarm. */
  readonly databaseMaxCapacity: number;
  readonly fileSystemId: string;
}

/** Approximate `max_connections` of Aurora PostgreSQL at a capacity: LEAST(memory / 9531392, 5000), 2 GiB per ACU. */
export function auroraMaxConnections(acu: number): number {
  return Math.min(Math.floor((acu * 2 * 1024 ** 3) / 9_531_392), 5000);
}

/**
 * What the host's CloudWatch agent publishes for the memory and disk alarms (namespace `CWAgent`, aggregated by
 * these dimensions): `mem_used_percent` by Auto Scaling group, `disk_used_percent` by group and mount path.
 */
export const HOST_AGENT_METRICS = {
  namespace: "CWAgent",
  memory: { metricName: "mem_used_percent", dimensions: ["AutoScalingGroupName"] },
  disk: { metricName: "disk_used_percent", dimensions: ["AutoScalingGroupName", "path"] },
  /** The Docker data volume (images, containers, sandboxes). */
  dockerVolumePath: "/var/lib/docker",
} as const;

/** One alarm's definition, without the parts every alarm shares. */
type AlarmSpec = Omit<CloudwatchMetricAlarmConfig, "alarmName" | "alarmActions" | "okActions" | "actionsEnabled">;

/**
 * Alarms of the main region, each notifying the topic when it fires and when it recovers: the host failing
 * its health check, ALB and proxy 5xx, host CPU and status checks, host memory pressure and a filling Docker
 * volume (from the CloudWatch agent, HOST_AGENT_METRICS), Aurora at its capacity ceiling or near its
 * connection limit, EFS at its I/O limit. Missing data counts as fine (a paused database or an
 * office-hours night is not an incident).
 */
export class ServiceAlarms extends Construct {
  /** Alarm names by key. */
  readonly alarmNames: Readonly<Record<string, string>>;
  readonly alarmArns: readonly string[];

  constructor(scope: Construct, id: string, props: ServiceAlarmsProps) {
    super(scope, id);
    const alb = { LoadBalancer: props.albArnSuffix };
    const target = { LoadBalancer: props.albArnSuffix, TargetGroup: props.targetGroupArnSuffix };
    const specs: Record<string, AlarmSpec> = {
      "unhealthy-host": {
        alarmDescription: "The host fails the ALB health check (GET /_oh/health); the ASG replaces it after the grace period",
        namespace: "AWS/ApplicationELB",
        metricName: "UnHealthyHostCount",
        dimensions: target,
        statistic: "Maximum",
        period: 60,
        evaluationPeriods: 3,
        threshold: 1,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
      },
      "alb-5xx": {
        alarmDescription: "The ALB itself answers 5xx (no healthy target, connection errors)",
        namespace: "AWS/ApplicationELB",
        metricName: "HTTPCode_ELB_5XX_Count",
        dimensions: alb,
        statistic: "Sum",
        period: 300,
        evaluationPeriods: 1,
        threshold: 10,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
      },
      "target-5xx": {
        alarmDescription: "The proxy or the users' OpenHands answer 5xx",
        namespace: "AWS/ApplicationELB",
        metricName: "HTTPCode_Target_5XX_Count",
        dimensions: target,
        statistic: "Sum",
        period: 300,
        evaluationPeriods: 2,
        threshold: 25,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
      },
      "host-cpu": {
        alarmDescription: "Host CPU above 85 % for 15 minutes: too many running users or sandboxes for the instance type",
        namespace: "AWS/EC2",
        metricName: "CPUUtilization",
        dimensions: { AutoScalingGroupName: props.autoScalingGroupName },
        statistic: "Average",
        period: 300,
        evaluationPeriods: 3,
        threshold: 85,
        comparisonOperator: "GreaterThanThreshold",
      },
      "host-status-check": {
        alarmDescription: "The host fails an EC2 status check",
        namespace: "AWS/EC2",
        metricName: "StatusCheckFailed",
        dimensions: { AutoScalingGroupName: props.autoScalingGroupName },
        statistic: "Maximum",
        period: 60,
        evaluationPeriods: 3,
        threshold: 1,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
      },
      "host-memory": {
        alarmDescription:
          "Host memory above 90 % for 15 minutes: apps and sandboxes are close to the OOM killer; lower users.maxRunningApps or " +
          "use a larger instance type",
        namespace: HOST_AGENT_METRICS.namespace,
        metricName: HOST_AGENT_METRICS.memory.metricName,
        dimensions: { AutoScalingGroupName: props.autoScalingGroupName },
        statistic: "Average",
        period: 300,
        evaluationPeriods: 3,
        threshold: 90,
        comparisonOperator: "GreaterThanThreshold",
      },
      "docker-volume": {
        alarmDescription:
          `The Docker volume (${HOST_AGENT_METRICS.dockerVolumePath}) is 85 % full: new images and sandboxes will fail; prune images ` +
          `or raise compute.dockerVolumeGiB`,
        namespace: HOST_AGENT_METRICS.namespace,
        metricName: HOST_AGENT_METRICS.disk.metricName,
        dimensions: { AutoScalingGroupName: props.autoScalingGroupName, path: HOST_AGENT_METRICS.dockerVolumePath },
        statistic: "Maximum",
        period: 300,
        evaluationPeriods: 1,
        threshold: 85,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
      },
      "database-capacity": {
        alarmDescription: `Aurora at 90 % of its ${props.databaseMaxCapacity} ACU ceiling for 15 minutes; raise database.maxCapacity`,
        namespace: "AWS/RDS",
        metricName: "ServerlessDatabaseCapacity",
        dimensions: { DBClusterIdentifier: props.databaseClusterIdentifier },
        statistic: "Average",
        period: 300,
        evaluationPeriods: 3,
        threshold: Math.round(props.databaseMaxCapacity * 0.9 * 10) / 10,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
      },
      "database-connections": {
        alarmDescription: "Aurora connections above 80 % of max_connections at the ACU ceiling",
        namespace: "AWS/RDS",
        metricName: "DatabaseConnections",
        dimensions: { DBClusterIdentifier: props.databaseClusterIdentifier },
        statistic: "Maximum",
        period: 300,
        evaluationPeriods: 2,
        threshold: Math.floor(auroraMaxConnections(props.databaseMaxCapacity) * 0.8),
        comparisonOperator: "GreaterThanThreshold",
      },
      "efs-io-limit": {
        alarmDescription: "EFS at 95 % of its I/O limit: workspaces slow down for every user",
        namespace: "AWS/EFS",
        metricName: "PercentIOLimit",
        dimensions: { FileSystemId: props.fileSystemId },
        statistic: "Maximum",
        period: 300,
        evaluationPeriods: 3,
        threshold: 95,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
      },
    };
    const names: Record<string, string> = {};
    const arns: string[] = [];
    for (const [key, spec] of Object.entries(specs)) {
      const alarm = new CloudwatchMetricAlarm(this, key, {
        ...spec,
        alarmName: `${props.namePrefix}-${key}`,
        treatMissingData: "notBreaching",
        actionsEnabled: true,
        alarmActions: [props.topicArn],
        okActions: [props.topicArn],
      });
      names[key] = alarm.alarmName;
      arns.push(alarm.arn);
    }
    this.alarmNames = names;
    this.alarmArns = arns;
  }
}
