import type { Construct } from "constructs";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import type { DeploymentConfig } from "../config/schema";
import { DeploymentStack } from "./deployment-stack";

/** Main region: security groups (one purpose each) in the existing VPC. */
export class NetworkStack extends DeploymentStack {
  readonly vpcId: string;
  readonly privateSubnetIds: readonly string[];
  readonly albSecurityGroupId: string;
  readonly hostSecurityGroupId: string;

  constructor(scope: Construct, config: DeploymentConfig) {
    super(scope, "network", { config, region: config.region });
    this.vpcId = config.network.vpcId;
    this.privateSubnetIds = config.network.privateSubnetIds;
    const alb = new SecurityGroup(this, "alb-sg", {
      name: `${this.names.prefix}-alb`,
      description: "Internal ALB: reached only through the CloudFront VPC origin",
      vpcId: this.vpcId,
    });
    const host = new SecurityGroup(this, "host-sg", {
      name: `${this.names.prefix}-host`,
      description: "OpenHands host: reached only from the ALB on the proxy port",
      vpcId: this.vpcId,
    });
    this.albSecurityGroupId = alb.id;
    this.hostSecurityGroupId = host.id;
  }
}
