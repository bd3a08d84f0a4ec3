import type { Construct } from "constructs";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import type { DeploymentConfig } from "../config/schema";
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

/** Main region, with a us-east-1 alias for CloudFront, WAF and Lambda@Edge metrics (they live there). */
export class MonitoringStack extends DeploymentStack {
  readonly alarmTopicArn: string;

  constructor(scope: Construct, config: DeploymentConfig, _props: MonitoringStackProps) {
    super(scope, "monitoring", { config, region: config.region, withEdgeRegionProvider: true });
    const topic = new SnsTopic(this, "alarms", { name: `${this.names.prefix}-alarms` });
    new SnsTopic(this, "edge-alarms", { name: `${this.names.prefix}-edge-alarms`, provider: this.edgeRegionProvider });
    this.alarmTopicArn = topic.arn;
  }
}
