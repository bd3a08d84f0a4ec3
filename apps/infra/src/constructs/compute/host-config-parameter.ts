import { Construct } from "constructs";
import { SsmParameter } from "@cdktf/provider-aws/lib/ssm-parameter";
import type { HostConfiguration } from "@openhands-team/contracts";

/**
 * The host configuration JSON (docs/CONTRACTS.md, "Host configuration"), from @openhands-team/contracts; values may be Terraform
 * references.
 */
export type { HostConfiguration };

export interface HostConfigParameterProps {
  /** `/<name>/<environment>/host/config`. */
  readonly parameterName: string;
  readonly configuration: HostConfiguration;
}

/**
 * The SSM parameter the host bundle's installer reads (and nothing else) to render every file on the host.
 * It names secrets by ARN and holds no secret value, so a plain String parameter is right.
 * The JSON is written with JSON.stringify: references become `${...}` interpolations inside the string
 * (ids and ARNs, which never contain quotes), and the document stays readable in cdk.tf.json.
 */
export class HostConfigParameter extends Construct {
  readonly parameterName: string;
  readonly parameterArn: string;

  constructor(scope: Construct, id: string, props: HostConfigParameterProps) {
    super(scope, id);
    const parameter = new SsmParameter(this, "parameter", {
      name: props.parameterName,
      description: "OpenHands host configuration (docs/CONTRACTS.md)",
      type: "String",
      tier: "Standard",
      value: JSON.stringify(props.configuration),
    });
    this.parameterName = parameter.name;
    this.parameterArn = parameter.arn;
  }
}
