import { Construct } from "constructs";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { VpcSecurityGroupEgressRule } from "@cdktf/provider-aws/lib/vpc-security-group-egress-rule";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";
import { SERVICE_PORTS } from "./service-security-groups";

export interface TaskSecurityGroupsProps {
  /** Prefix of the group names, `<name>-<environment>`. */
  readonly namePrefix: string;
  readonly vpcId: string;
  /** The host's group: the only source admitted into apps and sandboxes, and the home of the relay, gateway and sandbox API. */
  readonly hostSecurityGroupId: string;
  readonly databaseSecurityGroupId: string;
  readonly fileSystemSecurityGroupId: string;
  readonly endpointSecurityGroupId: string;
}

type Port = number | { readonly from: number; readonly to: number };
const range = (port: Port) => (typeof port === "number" ? { fromPort: port, toPort: port } : { fromPort: port.from, toPort: port.to });

/**
 * ECS mode: the groups of users' tasks. `apps` admits the app port from the host only and sends only to Aurora, EFS,
 * the host's relay, LLM gateway, sandbox API and sandbox URLs (the proxy), and HTTPS through the NAT; `sandboxes`
 * admits the four sandbox ports from the host only and sends to the relay, the gateway, EFS and HTTPS, never to Aurora.
 * The data-side groups
 * (Aurora, EFS, interface endpoints) and the host's group get the matching ingress rules here, so that the ECS rules
 * come and go with ECS mode.
 */
export class TaskSecurityGroups extends Construct {
  readonly appSecurityGroupId: string;
  readonly sandboxSecurityGroupId: string;

  constructor(scope: Construct, id: string, props: TaskSecurityGroupsProps) {
    super(scope, id);
    const group = (key: string, description: string) =>
      new SecurityGroup(this, key, {
        name: `${props.namePrefix}-${key}`,
        description,
        vpcId: props.vpcId,
        tags: { Name: `${props.namePrefix}-${key}` },
      });
    const apps = group("apps", "Users' OpenHands app tasks: the app port from the host only");
    const sandboxes = group("sandboxes", "Users' sandbox tasks: the sandbox ports from the host only");
    const ingress = (key: string, target: string, port: Port, source: string, description: string) =>
      new VpcSecurityGroupIngressRule(this, key, {
        securityGroupId: target,
        description,
        ipProtocol: "tcp",
        ...range(port),
        referencedSecurityGroupId: source,
      });
    const egressTo = (key: string, from: string, port: Port, target: string, description: string) =>
      new VpcSecurityGroupEgressRule(this, key, {
        securityGroupId: from,
        description,
        ipProtocol: "tcp",
        ...range(port),
        referencedSecurityGroupId: target,
      });

    // Cross-user access and edge bypass: only the host (the proxy and the spawner) opens a user's app or sandbox; another
    // user's app or sandbox, anything else in the VPC and the internet do not.
    ingress("apps-from-host", apps.id, SERVICE_PORTS.app, props.hostSecurityGroupId, "OpenHands app port from the host");
    for (const port of SERVICE_PORTS.sandbox) {
      ingress(`sandboxes-from-host-${port}`, sandboxes.id, port, props.hostSecurityGroupId, `Sandbox port ${port} from the host`);
    }

    egressTo("apps-to-database", apps.id, SERVICE_PORTS.postgres, props.databaseSecurityGroupId, "PostgreSQL (the user's database)");
    egressTo("apps-to-efs", apps.id, SERVICE_PORTS.nfs, props.fileSystemSecurityGroupId, "NFS to EFS (the user's app access point)");
    egressTo("apps-to-relay", apps.id, SERVICE_PORTS.relay, props.hostSecurityGroupId, "Spawner webhook relay on the host");
    egressTo("apps-to-llm-gateway", apps.id, SERVICE_PORTS.llmGateway, props.hostSecurityGroupId, "LLM gateway on the host");
    egressTo("apps-to-sandbox-api", apps.id, SERVICE_PORTS.sandboxApi, props.hostSecurityGroupId, "Remote sandbox API on the host");
    egressTo(
      "apps-to-sandbox-routes",
      apps.id,
      SERVICE_PORTS.sandboxRoutes,
      props.hostSecurityGroupId,
      "Sandbox URLs through the host's proxy",
    );
    // No route to the database from sandboxes: agent-run code never reaches any user's database.
    egressTo("sandboxes-to-relay", sandboxes.id, SERVICE_PORTS.relay, props.hostSecurityGroupId, "Spawner webhook relay on the host");
    egressTo("sandboxes-to-llm-gateway", sandboxes.id, SERVICE_PORTS.llmGateway, props.hostSecurityGroupId, "LLM gateway on the host");
    egressTo(
      "sandboxes-to-efs",
      sandboxes.id,
      SERVICE_PORTS.nfs,
      props.fileSystemSecurityGroupId,
      "NFS to EFS (the workspace access point)",
    );
    for (const [key, target, name] of [
      ["apps", apps.id, "apps"],
      ["sandboxes", sandboxes.id, "sandboxes"],
    ] as const) {
      new VpcSecurityGroupEgressRule(this, `${key}-to-https`, {
        securityGroupId: target,
        description: `HTTPS out through the NAT (images, AWS APIs, git and packages of the ${name})`,
        ipProtocol: "tcp",
        ...range(SERVICE_PORTS.https),
        cidrIpv4: "0.0.0.0/0",
      });
    }

    // The other side of each rule above: the host's services, Aurora and EFS admit the tasks that need them.
    ingress("host-relay-from-apps", props.hostSecurityGroupId, SERVICE_PORTS.relay, apps.id, "Webhook relay from app tasks");
    ingress("host-llm-gateway-from-apps", props.hostSecurityGroupId, SERVICE_PORTS.llmGateway, apps.id, "LLM gateway from app tasks");
    ingress(
      "host-sandbox-api-from-apps",
      props.hostSecurityGroupId,
      SERVICE_PORTS.sandboxApi,
      apps.id,
      "Remote sandbox API from app tasks",
    );
    ingress(
      "host-sandbox-routes-from-apps",
      props.hostSecurityGroupId,
      SERVICE_PORTS.sandboxRoutes,
      apps.id,
      "Sandbox URLs (internal names) from app tasks",
    );
    ingress("host-relay-from-sandboxes", props.hostSecurityGroupId, SERVICE_PORTS.relay, sandboxes.id, "Webhook relay from sandbox tasks");
    ingress(
      "host-llm-gateway-from-sandboxes",
      props.hostSecurityGroupId,
      SERVICE_PORTS.llmGateway,
      sandboxes.id,
      "LLM gateway from sandbox tasks",
    );
    ingress("database-from-apps", props.databaseSecurityGroupId, SERVICE_PORTS.postgres, apps.id, "PostgreSQL from app tasks");
    ingress("efs-from-apps", props.fileSystemSecurityGroupId, SERVICE_PORTS.nfs, apps.id, "NFS from app tasks");
    ingress("efs-from-sandboxes", props.fileSystemSecurityGroupId, SERVICE_PORTS.nfs, sandboxes.id, "NFS from sandbox tasks");
    // Fargate pulls images, reads secrets and writes logs through the task's interface: with interface endpoints (private
    // DNS) those calls land on the endpoints' group.
    ingress("endpoints-from-apps", props.endpointSecurityGroupId, SERVICE_PORTS.endpointHttps, apps.id, "HTTPS to AWS APIs from app tasks");
    ingress(
      "endpoints-from-sandboxes",
      props.endpointSecurityGroupId,
      SERVICE_PORTS.endpointHttps,
      sandboxes.id,
      "HTTPS to AWS APIs from sandbox tasks",
    );

    this.appSecurityGroupId = apps.id;
    this.sandboxSecurityGroupId = sandboxes.id;
  }
}
