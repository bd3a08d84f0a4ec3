import { Construct } from "constructs";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { VpcSecurityGroupEgressRule } from "@cdktf/provider-aws/lib/vpc-security-group-egress-rule";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";

/** Ports the security groups open, from docs/CONTRACTS.md and the services' defaults. */
export const SERVICE_PORTS = {
  /** The ALB's HTTPS listener, the CloudFront VPC origin's target. */
  albHttps: 443,
  /** OpenResty on the host, the ALB's target. */
  proxy: 8080,
  postgres: 5432,
  nfs: 2049,
  /** Interface endpoints (AWS APIs over TLS). */
  endpointHttps: 443,
  /** ECS mode: the LLM gateway on the host (docs/CONTRACTS.md, "Ports on the host"). */
  llmGateway: 4000,
  /** ECS mode: OpenHands in a user's app task. */
  app: 3000,
  /** ECS mode: the ports of a sandbox task: agent-server, VS Code, the two worker ports (docs/ecs.md, section 1). */
  sandbox: [60000, 60001, 12000, 12001],
  /** ECS mode: the spawner's remote sandbox API on the host; the per-user key names the user (docs/ecs.md, section 3). */
  sandboxApi: 8082,
  /**
   * ECS mode: the spawner's webhook relay on the host's private address, one listener for every user (the spawner's
   * `network.relayPort`); it tells callers apart by their task's address, which no security group can.
   */
  relay: 3000,
  /**
   * ECS mode: the host's proxy for the internal sandbox names (`http://<route port>-<slug>.<sandbox domain>`, port 80),
   * through which a user's app drives its sandboxes' agent-servers (docs/ecs.md, section 3, "Runtime URLs"); apps only.
   */
  sandboxRoutes: 80,
  /** HTTPS out through the VPC's NAT (images, AWS APIs, git and packages). */
  https: 443,
} as const;

export interface ServiceSecurityGroupsProps {
  /** Prefix of the group names, `<name>-<environment>`. */
  readonly namePrefix: string;
  readonly vpcId: string;
  /** CloudFront's origin-facing managed prefix list in this region, the only source allowed into the ALB. */
  readonly cloudFrontPrefixListId: string;
  /** CloudFront's VPC-origin service group in this VPC, also allowed into the ALB when known. @default none */
  readonly vpcOriginSecurityGroupId?: string;
}

/**
 * One security group per purpose, each admitting exactly one upstream:
 * ALB <- CloudFront, host <- ALB (proxy port), Aurora <- host, EFS <- host, interface endpoints <- host.
 * Rules are separate resources (never inline blocks) so that each carries its own description and a change
 * to one never rewrites the others; Terraform removes AWS's default allow-all egress from every group,
 * so groups without an egress rule send nothing.
 */
export class ServiceSecurityGroups extends Construct {
  readonly albSecurityGroupId: string;
  readonly hostSecurityGroupId: string;
  readonly databaseSecurityGroupId: string;
  readonly fileSystemSecurityGroupId: string;
  readonly endpointSecurityGroupId: string;

  constructor(scope: Construct, id: string, props: ServiceSecurityGroupsProps) {
    super(scope, id);
    const group = (key: string, description: string) =>
      new SecurityGroup(this, key, {
        name: `${props.namePrefix}-${key}`,
        description,
        vpcId: props.vpcId,
        tags: { Name: `${props.namePrefix}-${key}` },
      });
    const alb = group("alb", "Internal ALB: HTTPS from the CloudFront VPC origin only");
    const host = group("host", "OpenHands host: the proxy port from the ALB only");
    const database = group("database", "Aurora PostgreSQL: from the host only");
    const fileSystem = group("efs", "EFS mount targets: NFS from the host only");
    const endpoints = group("endpoints", "Interface endpoints: HTTPS from the host only");

    // Origin bypass: only CloudFront's origin-facing servers (the VPC origin) reach the ALB, never the VPC at large.
    new VpcSecurityGroupIngressRule(this, "alb-from-cloudfront", {
      securityGroupId: alb.id,
      description: "HTTPS from CloudFront (origin-facing managed prefix list)",
      ipProtocol: "tcp",
      fromPort: SERVICE_PORTS.albHttps,
      toPort: SERVICE_PORTS.albHttps,
      prefixListId: props.cloudFrontPrefixListId,
    });
    if (props.vpcOriginSecurityGroupId) {
      new VpcSecurityGroupIngressRule(this, "alb-from-vpc-origin", {
        securityGroupId: alb.id,
        description: "HTTPS from CloudFront's VPC-origin service group",
        ipProtocol: "tcp",
        fromPort: SERVICE_PORTS.albHttps,
        toPort: SERVICE_PORTS.albHttps,
        referencedSecurityGroupId: props.vpcOriginSecurityGroupId,
      });
    }
    new VpcSecurityGroupEgressRule(this, "alb-to-host", {
      securityGroupId: alb.id,
      description: "Proxy port on the host",
      ipProtocol: "tcp",
      fromPort: SERVICE_PORTS.proxy,
      toPort: SERVICE_PORTS.proxy,
      referencedSecurityGroupId: host.id,
    });
    // Lateral movement: nothing in the VPC but the ALB reaches the proxy (sandboxes elsewhere cannot skip the edge).
    new VpcSecurityGroupIngressRule(this, "host-from-alb", {
      securityGroupId: host.id,
      description: "Proxy port from the ALB",
      ipProtocol: "tcp",
      fromPort: SERVICE_PORTS.proxy,
      toPort: SERVICE_PORTS.proxy,
      referencedSecurityGroupId: alb.id,
    });
    new VpcSecurityGroupEgressRule(this, "host-to-anywhere", {
      securityGroupId: host.id,
      description: "Image pulls, Bedrock, AWS APIs and the agents' git and package traffic, through NAT",
      ipProtocol: "-1",
      cidrIpv4: "0.0.0.0/0",
    });
    // Data exfiltration paths: the database, file system and endpoints admit the host and nothing else.
    const fromHost = (key: string, target: SecurityGroup, port: number, description: string) =>
      new VpcSecurityGroupIngressRule(this, key, {
        securityGroupId: target.id,
        description,
        ipProtocol: "tcp",
        fromPort: port,
        toPort: port,
        referencedSecurityGroupId: host.id,
      });
    fromHost("database-from-host", database, SERVICE_PORTS.postgres, "PostgreSQL from the host");
    fromHost("efs-from-host", fileSystem, SERVICE_PORTS.nfs, "NFS from the host");
    fromHost("endpoints-from-host", endpoints, SERVICE_PORTS.endpointHttps, "HTTPS to AWS APIs from the host");

    this.albSecurityGroupId = alb.id;
    this.hostSecurityGroupId = host.id;
    this.databaseSecurityGroupId = database.id;
    this.fileSystemSecurityGroupId = fileSystem.id;
    this.endpointSecurityGroupId = endpoints.id;
  }
}
