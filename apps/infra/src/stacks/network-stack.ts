import type { Construct } from "constructs";
import type { DeploymentConfig } from "../config/schema";
import { CLOUDFRONT_ORIGIN_FACING_PREFIX_LISTS } from "../config/cloudfront-prefix-lists";
import { PrivateServiceEndpoints } from "../constructs/network/private-service-endpoints";
import { ServiceSecurityGroups } from "../constructs/network/service-security-groups";
import { TaskSecurityGroups } from "../constructs/network/task-security-groups";
import { VpcFlowLog } from "../constructs/observability/vpc-flow-log";
import { DeploymentStack } from "./deployment-stack";

/**
 * Main region: the existing VPC and private subnets from the configuration, one security group per purpose,
 * the S3 gateway endpoint, and optionally interface endpoints and VPC flow logs.
 */
export class NetworkStack extends DeploymentStack {
  readonly vpcId: string;
  readonly privateSubnetIds: readonly string[];
  /** The internal ALB's group: HTTPS from CloudFront only. */
  readonly albSecurityGroupId: string;
  readonly hostSecurityGroupId: string;
  readonly databaseSecurityGroupId: string;
  readonly fileSystemSecurityGroupId: string;
  readonly endpointSecurityGroupId: string;
  /** ECS mode: the groups of users' app and sandbox tasks. */
  readonly taskSecurityGroups?: { readonly apps: string; readonly sandboxes: string };
  /** The prefix list admitted into the ALB. */
  readonly cloudFrontPrefixListId: string;
  readonly flowLogGroupName?: string;

  /** The network stack already built into `app` (stacks that were not handed it find it here). */
  constructor(scope: Construct, config: DeploymentConfig) {
    super(scope, "network", { config, region: config.region });
    this.vpcId = config.network.vpcId;
    this.privateSubnetIds = config.network.privateSubnetIds;
    const prefixListId = config.network.cloudFrontPrefixListId ?? CLOUDFRONT_ORIGIN_FACING_PREFIX_LISTS[config.region];
    if (!prefixListId) {
      // The schema refuses this configuration already; this guards callers that skip it.
      throw new Error(`config.network.cloudFrontPrefixListId: is missing and no prefix list is known for ${config.region}`);
    }
    const groups = new ServiceSecurityGroups(this, "security-groups", {
      namePrefix: this.names.prefix,
      vpcId: this.vpcId,
      cloudFrontPrefixListId: prefixListId,
      vpcOriginSecurityGroupId: config.network.vpcOriginSecurityGroupId,
    });
    if (config.compute.mode === "ecs") {
      const tasks = new TaskSecurityGroups(this, "task-security-groups", {
        namePrefix: this.names.prefix,
        vpcId: this.vpcId,
        hostSecurityGroupId: groups.hostSecurityGroupId,
        databaseSecurityGroupId: groups.databaseSecurityGroupId,
        fileSystemSecurityGroupId: groups.fileSystemSecurityGroupId,
        endpointSecurityGroupId: groups.endpointSecurityGroupId,
      });
      this.taskSecurityGroups = { apps: tasks.appSecurityGroupId, sandboxes: tasks.sandboxSecurityGroupId };
    }
    new PrivateServiceEndpoints(this, "endpoints", {
      namePrefix: this.names.prefix,
      region: config.region,
      vpcId: this.vpcId,
      subnetIds: this.privateSubnetIds,
      routeTableIds: config.network.privateRouteTableIds,
      interfaceEndpoints: config.cost.interfaceEndpoints,
      endpointSecurityGroupId: groups.endpointSecurityGroupId,
      note: (text) => this.note(text),
    });
    if (config.network.flowLogs) {
      const flowLog = new VpcFlowLog(this, "flow-log", {
        namePrefix: this.names.prefix,
        vpcId: this.vpcId,
        logGroupName: this.names.flowLogGroup,
        retentionDays: config.monitoring.logRetentionDays,
      });
      this.flowLogGroupName = flowLog.logGroupName;
    }
    this.albSecurityGroupId = groups.albSecurityGroupId;
    this.hostSecurityGroupId = groups.hostSecurityGroupId;
    this.databaseSecurityGroupId = groups.databaseSecurityGroupId;
    this.fileSystemSecurityGroupId = groups.fileSystemSecurityGroupId;
    this.endpointSecurityGroupId = groups.endpointSecurityGroupId;
    this.cloudFrontPrefixListId = prefixListId;
    this.operatorOutput(
      "security_group_ids",
      {
        alb: groups.albSecurityGroupId,
        host: groups.hostSecurityGroupId,
        database: groups.databaseSecurityGroupId,
        efs: groups.fileSystemSecurityGroupId,
        ...(this.taskSecurityGroups ? { apps: this.taskSecurityGroups.apps, sandboxes: this.taskSecurityGroups.sandboxes } : {}),
      },
      "Security groups, one per purpose",
    );
    if (this.flowLogGroupName) this.operatorOutput("flow_log_group", this.flowLogGroupName, "CloudWatch log group of the VPC flow logs");
  }
}
