import type { Construct } from "constructs";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { SnsTopicSubscription } from "@cdktf/provider-aws/lib/sns-topic-subscription";
import type { DeploymentConfig } from "../config/schema";
import { EdgeAlarms } from "../constructs/observability/edge-alarms";
import { ServiceAlarms } from "../constructs/observability/service-alarms";
import { LlmUsageMonitoring } from "../constructs/observability/llm-usage";
import { ServiceDashboard } from "../constructs/observability/service-dashboard";
import { DeploymentStack } from "./deployment-stack";
import type { ComputeStack } from "./compute-stack";
import type { EdgeStack } from "./edge-stack";
import type { DataStack } from "./data-stack";
import type { NetworkStack } from "./network-stack";

export interface MonitoringStackProps {
  readonly network: NetworkStack;
  readonly data: DataStack;
  readonly compute: ComputeStack;
  readonly edge: EdgeStack;
}

/**
 * Main region, with a us-east-1 alias for the edge's topic (CloudFront and WAF metrics live there):
 * the alarm topics with an optional e-mail subscription, the main-region alarms, the edge's alarms
 * (CloudFront 5xx rate, WAF blocks) in us-east-1, and a dashboard.
 * The host's log groups belong to the compute stack, which must create them before the host boots.
 */
export class MonitoringStack extends DeploymentStack {
  readonly alarmTopicArn: string;
  /** Topic in us-east-1 for alarms on CloudFront, WAF and Lambda@Edge metrics. */
  readonly edgeAlarmTopicArn: string;
  readonly dashboardName: string;
  readonly alarmNames: Readonly<Record<string, string>>;
  /** Alarms in us-east-1 on the distributions and the web ACL. */
  readonly edgeAlarmNames: readonly string[];

  constructor(scope: Construct, config: DeploymentConfig, props: MonitoringStackProps) {
    super(scope, "monitoring", { config, region: config.region, withEdgeRegionProvider: true });
    const prefix = this.names.prefix;
    // CloudWatch cannot publish to a topic under the AWS-managed aws/sns key, so the topics stay unencrypted
    // (see the policy suppression OHT_SNS_001); alarm notifications carry no secret.
    const topic = new SnsTopic(this, "alarms", { name: `${prefix}-alarms` });
    const edgeTopic = new SnsTopic(this, "edge-alarms", { name: `${prefix}-edge-alarms`, provider: this.edgeRegionProvider });
    if (config.monitoring.alarmEmail) {
      new SnsTopicSubscription(this, "alarms-email", { topicArn: topic.arn, protocol: "email", endpoint: config.monitoring.alarmEmail });
      new SnsTopicSubscription(this, "edge-alarms-email", {
        topicArn: edgeTopic.arn,
        protocol: "email",
        endpoint: config.monitoring.alarmEmail,
        provider: this.edgeRegionProvider,
      });
    }
    const alarms = new ServiceAlarms(this, "service-alarms", {
      namePrefix: prefix,
      topicArn: topic.arn,
      albArnSuffix: props.compute.albArnSuffix,
      targetGroupArnSuffix: props.compute.targetGroupArnSuffix,
      autoScalingGroupName: props.compute.autoScalingGroupName,
      databaseClusterIdentifier: props.data.databaseClusterIdentifier,
      databaseMaxCapacity: config.database.maxCapacity,
      fileSystemId: props.data.fileSystemId,
    });
    const edgeAlarms = new EdgeAlarms(this, "edge-metric-alarms", {
      namePrefix: prefix,
      provider: this.edgeRegionProvider!,
      topicArn: edgeTopic.arn,
      distributionIds: props.edge.distributionIds,
      webAclName: props.edge.webAclName,
    });
    const llmUsage = new LlmUsageMonitoring(this, "llm-usage", {
      namePrefix: prefix,
      hostLogGroupName: props.compute.logGroupNames.host,
      deployment: prefix,
      topicArn: topic.arn,
    });
    const dashboard = new ServiceDashboard(this, "dashboard", {
      dashboardName: `${prefix}-overview`,
      region: config.region,
      albArnSuffix: props.compute.albArnSuffix,
      targetGroupArnSuffix: props.compute.targetGroupArnSuffix,
      autoScalingGroupName: props.compute.autoScalingGroupName,
      databaseClusterIdentifier: props.data.databaseClusterIdentifier,
      fileSystemId: props.data.fileSystemId,
      alarmArns: [...alarms.alarmArns, llmUsage.alarmArn],
      hostLogGroupName: props.compute.logGroupNames.host,
      distributionIds: props.edge.distributionIds,
      deployment: prefix,
    });
    this.alarmTopicArn = topic.arn;
    this.edgeAlarmTopicArn = edgeTopic.arn;
    this.dashboardName = dashboard.dashboardName;
    this.alarmNames = { ...alarms.alarmNames, "llm-monthly-spend": llmUsage.alarmName };
    this.edgeAlarmNames = edgeAlarms.alarmNames;
    this.operatorOutput(
      "dashboard_url",
      `https://${config.region}.console.aws.amazon.com/cloudwatch/home?region=${config.region}#dashboards:name=${dashboard.dashboardName}`,
      "The CloudWatch overview dashboard",
    );
    this.operatorOutput(
      "alarm_topics",
      { main: topic.arn, edge: edgeTopic.arn },
      "SNS topics of the alarms (subscribe more recipients here)",
    );
  }
}
