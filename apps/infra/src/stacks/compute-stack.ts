import type { Construct } from "constructs";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { Lb } from "@cdktf/provider-aws/lib/lb";
import type { DeploymentConfig } from "../config/schema";
import { DeploymentStack } from "./deployment-stack";
import type { DataStack } from "./data-stack";
import type { NetworkStack } from "./network-stack";

export interface ComputeStackProps {
  readonly network: NetworkStack;
  readonly data: DataStack;
}

/** Main region: the host, its role and the internal ALB. */
export class ComputeStack extends DeploymentStack {
  readonly hostRoleArn: string;
  /** The internal ALB, the CloudFront VPC origin. */
  readonly albArn: string;
  readonly albDnsName: string;

  constructor(scope: Construct, config: DeploymentConfig, props: ComputeStackProps) {
    super(scope, "compute", { config, region: config.region });
    const role = new IamRole(this, "host-role", {
      name: `${this.names.prefix}-host`,
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
      }),
    });
    new IamRolePolicy(this, "host-events", {
      role: role.name,
      name: "events-bucket",
      policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          { Effect: "Allow", Action: ["s3:GetObject", "s3:PutObject"], Resource: `${props.data.eventsBucketArn}/users/*` },
        ],
      }),
    });
    this.hostRoleArn = role.arn;
    const alb = new Lb(this, "alb", {
      name: `${this.names.prefix}-alb`,
      internal: true,
      loadBalancerType: "application",
      subnets: [...props.network.privateSubnetIds],
      securityGroups: [props.network.albSecurityGroupId],
    });
    this.albArn = alb.arn;
    this.albDnsName = alb.dnsName;
  }
}
