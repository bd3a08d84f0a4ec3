import { Construct } from "constructs";
import { SsmParameter } from "@cdktf/provider-aws/lib/ssm-parameter";
import type { HostLogGroupKey, HostSecretKey } from "../../config/names";

/** The host configuration JSON (docs/CONTRACTS.md, "Host configuration"); values may be Terraform references. */
export interface HostConfiguration {
  readonly version: 1;
  readonly name: string;
  readonly environment: string;
  readonly region: string;
  readonly appHost: string;
  readonly runtimeDomain: string;
  readonly efsFileSystemId: string;
  readonly eventsBucket: string;
  readonly database: { readonly host: string; readonly port: number; readonly masterSecretArn: string };
  /** The VPC's IPv4 CIDRs, the primary first: the host firewall keeps user containers out of them. */
  readonly network: { readonly vpcCidrs: readonly string[] };
  readonly secrets: Readonly<Record<HostSecretKey, string>>;
  readonly edgeSecretsParameter: { readonly name: string; readonly region: string };
  readonly images: {
    readonly app: string;
    readonly agentServer: string;
    readonly openresty: string;
    readonly llmGateway: string;
    readonly node: string;
  };
  readonly bedrock: { readonly region: string; readonly models: readonly string[] };
  readonly users: {
    readonly idleMinutes: number;
    readonly maxRunningApps: number;
    readonly maxRunningSandboxes: number;
    readonly sandboxesPerUser: number;
  };
  readonly logGroups: Readonly<Record<HostLogGroupKey, string>>;
}

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
