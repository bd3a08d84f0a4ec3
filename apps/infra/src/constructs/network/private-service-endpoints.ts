import { Construct } from "constructs";
import { VpcEndpoint } from "@cdktf/provider-aws/lib/vpc-endpoint";

/**
 * Interface endpoints the host uses when `cost.interfaceEndpoints` is on: the AWS APIs it really calls, without NAT.
 * No ECR endpoints: every image comes from Docker Hub or GHCR (`openhands.*`, `hostImages`), never from ECR.
 */
export const INTERFACE_ENDPOINT_SERVICES = ["bedrock-runtime", "secretsmanager", "ssm", "ssmmessages", "ec2messages", "logs"] as const;

export interface PrivateServiceEndpointsProps {
  readonly namePrefix: string;
  readonly region: string;
  readonly vpcId: string;
  /** Subnets of the interface endpoints (one network interface per subnet). */
  readonly subnetIds: readonly string[];
  /** Route tables whose S3 traffic goes through the gateway endpoint. @default [] */
  readonly routeTableIds?: readonly string[];
  /** Told why an endpoint is not created (printed by synth). @default nothing */
  readonly note?: (text: string) => void;
  /** Create the interface endpoints. @default false */
  readonly interfaceEndpoints?: boolean;
  /** Group admitting the host on 443, for the interface endpoints. */
  readonly endpointSecurityGroupId: string;
}

/**
 * The S3 gateway endpoint (free: the events bucket and the host bundle stay off NAT) when route tables are given
 * (a gateway endpoint without route tables carries nothing, so it is skipped with a note), and, optionally,
 * interface endpoints for the host's AWS APIs. Interface endpoints cost about $7.30 a month per service and AZ,
 * so they are off by default: with NAT already present they are a security choice, not a saving.
 */
export class PrivateServiceEndpoints extends Construct {
  /** The S3 gateway endpoint, when route tables were given. */
  readonly gatewayEndpointId?: string;
  /** Interface endpoint ids by service, empty when they are off. */
  readonly interfaceEndpointIds: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: PrivateServiceEndpointsProps) {
    super(scope, id);
    const routeTableIds = props.routeTableIds ?? [];
    if (routeTableIds.length > 0) {
      this.gatewayEndpointId = new VpcEndpoint(this, "s3", {
        vpcId: props.vpcId,
        serviceName: `com.amazonaws.${props.region}.s3`,
        vpcEndpointType: "Gateway",
        routeTableIds: [...routeTableIds],
        tags: { Name: `${props.namePrefix}-s3` },
      }).id;
    } else {
      props.note?.(
        "no S3 gateway endpoint: network.privateRouteTableIds is empty, and an endpoint without route tables carries no traffic " +
          "(S3 goes through NAT; list the private subnets' route tables to keep it off NAT)",
      );
    }
    const ids: Record<string, string> = {};
    if (props.interfaceEndpoints) {
      for (const service of INTERFACE_ENDPOINT_SERVICES) {
        const endpoint = new VpcEndpoint(this, `interface-${service.replace(/\./g, "-")}`, {
          vpcId: props.vpcId,
          serviceName: `com.amazonaws.${props.region}.${service}`,
          vpcEndpointType: "Interface",
          subnetIds: [...props.subnetIds],
          securityGroupIds: [props.endpointSecurityGroupId],
          privateDnsEnabled: true,
          tags: { Name: `${props.namePrefix}-${service}` },
        });
        ids[service] = endpoint.id;
      }
    }
    this.interfaceEndpointIds = ids;
  }
}
