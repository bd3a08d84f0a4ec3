import type { Construct } from "constructs";
import { SsmParameter } from "@cdktf/provider-aws/lib/ssm-parameter";
import { Fn } from "cdktf";
import type { DeploymentConfig } from "../config/schema";
import { EDGE_REGION } from "../config/names";
import { DeploymentStack } from "./deployment-stack";
import type { AuthStack } from "./auth-stack";
import type { ComputeStack } from "./compute-stack";
import type { NetworkStack } from "./network-stack";

export interface EdgeStackProps {
  readonly network: NetworkStack;
  readonly auth: AuthStack;
  readonly compute: ComputeStack;
}

/** us-east-1: certificate, WAF, Lambda@Edge, CloudFront and DNS. */
export class EdgeStack extends DeploymentStack {
  readonly edgeConfigParameterName: string;

  constructor(scope: Construct, config: DeploymentConfig, props: EdgeStackProps) {
    super(scope, "edge", { config, region: EDGE_REGION });
    const parameter = new SsmParameter(this, "edge-config", {
      name: this.names.edgeConfigParameter,
      type: "String",
      value: Fn.jsonencode({
        appHost: config.domain.appHost,
        runtimeDomain: config.domain.runtime.domain,
        userPoolId: props.auth.userPoolId,
        clientId: props.auth.userPoolClientId,
      }),
    });
    this.edgeConfigParameterName = parameter.name;
  }
}
