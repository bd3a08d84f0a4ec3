import { DataAwsSubnet } from "@cdktf/provider-aws/lib/data-aws-subnet";
import type { Construct } from "constructs";
import { HOST_BUNDLE_DIR, renderUserData } from "@openhands-team/bootstrap-scripts";
import type { HostEcsConfiguration } from "@openhands-team/contracts";
import type { DeploymentConfig } from "../config/schema";
import { APP_ROLE_PATH, EDGE_REGION, SANDBOX_ROLE_PATH, type HostLogGroupKey, type HostSecretKey } from "../config/names";
import { HostBundle } from "../constructs/compute/host-bundle";
import { HostConfigParameter } from "../constructs/compute/host-config-parameter";
import { HostFleet } from "../constructs/compute/host-fleet";
import { HostLogGroups } from "../constructs/observability/host-log-groups";
import { HostRole } from "../constructs/identity/host-role";
import { HostSecrets } from "../constructs/identity/host-secrets";
import { spawnerEcsStatements } from "../constructs/identity/spawner-ecs-permissions";
import { TaskRoles } from "../constructs/identity/task-roles";
import { UserTaskCluster } from "../constructs/compute/user-task-cluster";
import { InternalLoadBalancer } from "../constructs/compute/internal-load-balancer";
import { PrivateBucket } from "../constructs/data/private-bucket";
import { SandboxZone } from "../constructs/network/sandbox-zone";
import { SERVICE_PORTS } from "../constructs/network/service-security-groups";
import { DeploymentStack } from "./deployment-stack";
import type { DataStack } from "./data-stack";
import type { NetworkStack } from "./network-stack";

export interface ComputeStackProps {
  readonly network: NetworkStack;
  readonly data: DataStack;
}

/**
 * ECS mode: the internal domain of sandbox URLs (`http://<route port>-<slug>.<sandbox domain>`, docs/ecs.md section 3), under
 * `.internal` (reserved for private use, never delegated in public DNS), so no public name can answer for it.
 */
const sandboxDomain = (prefix: string) => `sandboxes.${prefix}.internal`;

type ImageRef = { readonly repository: string; readonly tag: string; readonly digest?: string };
const image = (ref: ImageRef) => `${ref.repository}:${ref.tag}${ref.digest ? `@${ref.digest}` : ""}`;

/**
 * Main region: the host (launch template, Auto Scaling group, role), its secrets, log groups, bundle and
 * configuration, and the internal ALB that CloudFront reaches through a VPC origin.
 */
export class ComputeStack extends DeploymentStack {
  readonly hostRoleArn: string;
  /** The internal ALB, the CloudFront VPC origin. */
  readonly albArn: string;
  readonly albDnsName: string;
  readonly albArnSuffix: string;
  readonly targetGroupArnSuffix: string;
  readonly autoScalingGroupName: string;
  readonly hostConfigParameterName: string;
  readonly artifactsBucketName: string;
  readonly logGroupNames: Readonly<Record<HostLogGroupKey, string>>;
  readonly secretArns: Readonly<Record<HostSecretKey, string>>;
  /** SHA-256 of the host bundle in this synthesis. */
  readonly hostBundleSha256: string;

  constructor(scope: Construct, config: DeploymentConfig, props: ComputeStackProps) {
    super(scope, "compute", { config, region: config.region });
    const prefix = this.names.prefix;
    const main = this.names;

    const secrets = new HostSecrets(this, "secrets", { secretName: (key) => main.secretName(key) });
    const logs = new HostLogGroups(this, "logs", {
      logGroupName: (key) => main.logGroup(key),
      retentionDays: config.monitoring.logRetentionDays,
    });
    const artifacts = new PrivateBucket(this, "artifacts", {
      bucketPrefix: `${prefix}-artifacts-`,
      noncurrentVersionDays: 30,
      forceDestroy: true,
    });
    const bundle = new HostBundle(this, "host-bundle", {
      bundleDir: HOST_BUNDLE_DIR,
      bucketName: artifacts.bucketName,
      bucketArn: artifacts.bucketArn,
    });
    const ecs = config.compute.mode === "ecs" ? this.userTasks(config, props) : undefined;
    const role = new HostRole(this, "host-role", {
      namePrefix: prefix,
      region: config.region,
      bedrockRegion: this.names.bedrockRegion,
      bedrockModels: config.bedrock.models,
      eventsBucketArn: props.data.eventsBucketArn,
      fileSystemArn: props.data.fileSystemArn,
      secretArns: Object.values(secrets.arns),
      databaseMasterSecretArn: props.data.databaseMasterSecretArn,
      hostConfigParameter: main.hostConfigParameter,
      edgeSecretsParameter: this.names.edgeSecretsParameter,
      edgeConfigParameter: this.names.edgeConfigParameter,
      edgeRegion: EDGE_REGION,
      logGroupArns: Object.values(logs.arns),
      bundleObjectArn: bundle.objectArn,
      ...(ecs
        ? {
            additionalStatements: ({ partition, account }) => [
              ...spawnerEcsStatements({ ...ecs.permissions, partition, account }),
              ecs.zone.hostRecordStatement(),
            ],
          }
        : {}),
    });
    const hostConfig = new HostConfigParameter(this, "host-config", {
      parameterName: main.hostConfigParameter,
      configuration: {
        version: 1,
        name: config.name,
        environment: config.environment,
        region: config.region,
        appHost: config.domain.appHost,
        runtimeDomain: config.domain.runtime.domain,
        efsFileSystemId: props.data.fileSystemId,
        eventsBucket: props.data.eventsBucketName,
        database: { host: props.data.databaseEndpoint, port: props.data.databasePort, masterSecretArn: props.data.databaseMasterSecretArn },
        network: { vpcCidrs: [config.network.vpcCidr] },
        secrets: secrets.arns,
        edgeSecretsParameter: { name: this.names.edgeSecretsParameter, region: EDGE_REGION },
        images: {
          app: image(config.openhands.app),
          agentServer: image(config.openhands.agentServer),
          openresty: image(config.hostImages.openresty),
          llmGateway: image(config.hostImages.llmGateway),
          node: image(config.hostImages.node),
        },
        bedrock: {
          region: this.names.bedrockRegion,
          models: config.bedrock.models,
          ...(config.bedrock.perUser ? { perUser: { ...config.bedrock.perUser } } : {}),
        },
        users: { ...config.users },
        logGroups: logs.names,
        ...(ecs ? { ecs: ecs.hostConfiguration } : {}),
      },
    });
    const alb = new InternalLoadBalancer(this, "alb", {
      albName: main.shortName("alb", 32),
      targetGroupName: main.shortName("host", 32),
      vpcId: props.network.vpcId,
      subnetIds: props.network.privateSubnetIds,
      securityGroupId: props.network.albSecurityGroupId,
      appHost: config.domain.appHost,
      runtimeDomain: config.domain.runtime.domain,
      appZoneId: config.domain.hostedZoneId,
      runtimeZoneId: this.names.runtimeZoneId,
      targetPort: SERVICE_PORTS.proxy,
    });
    const fleet = new HostFleet(this, "host", {
      namePrefix: prefix,
      instanceType: config.compute.instanceType,
      minSize: config.compute.minSize,
      maxSize: config.compute.maxSize,
      rootVolumeGiB: config.compute.rootVolumeGiB,
      dockerVolumeGiB: config.compute.dockerVolumeGiB,
      subnetIds: props.network.privateSubnetIds,
      securityGroupId: props.network.hostSecurityGroupId,
      instanceProfileArn: role.instanceProfileArn,
      userData: renderUserData({
        region: config.region,
        bundleS3Uri: bundle.s3Uri,
        bundleSha256: bundle.sha256,
        hostConfigParameter: hostConfig.parameterName,
      }),
      targetGroupArn: alb.targetGroupArn,
      officeHours: config.cost.officeHours,
    });
    this.hostRoleArn = role.roleArn;
    this.albArn = alb.albArn;
    this.albDnsName = alb.albDnsName;
    this.albArnSuffix = alb.albArnSuffix;
    this.targetGroupArnSuffix = alb.targetGroupArnSuffix;
    this.autoScalingGroupName = fleet.autoScalingGroupName;
    this.hostConfigParameterName = hostConfig.parameterName;
    this.artifactsBucketName = artifacts.bucketName;
    this.logGroupNames = logs.names;
    this.secretArns = secrets.arns;
    this.hostBundleSha256 = bundle.sha256;
    this.operatorOutput("log_groups", logs.names, "CloudWatch log groups of the host's services");
    if (ecs)
      this.operatorOutput(
        "ecs",
        ecs.output,
        "ECS mode: the cluster, groups, roles, file system and sandbox zone the spawner's ECS backends and the host use",
      );
    this.operatorOutput("host_config_parameter", hostConfig.parameterName, "SSM parameter with the host configuration");
    this.operatorOutput(
      "auto_scaling_group",
      fleet.autoScalingGroupName,
      "Auto Scaling group of the host (instance refresh, Session Manager targets)",
    );
  }

  /** ECS mode: the cluster of users' tasks, their roles, and what the spawner's part of the host role needs to know. */
  private userTasks(config: DeploymentConfig, props: ComputeStackProps) {
    const tasks = props.network.taskSecurityGroups;
    if (!tasks) throw new Error("config.compute.mode: ecs needs the network stack's task security groups (built in ecs mode)");
    const hostAccessPointId = props.data.hostAccessPointId;
    if (!hostAccessPointId) throw new Error("config.compute.mode: ecs needs the data stack's host access point (built in ecs mode)");
    const cluster = new UserTaskCluster(this, "user-tasks", {
      clusterName: this.names.taskCluster,
      logGroupName: this.names.taskLogGroup,
      retentionDays: config.monitoring.logRetentionDays,
    });
    const roles = new TaskRoles(this, "task-roles", {
      namePrefix: this.names.prefix,
      region: config.region,
      fileSystemArn: props.data.fileSystemArn,
      eventsBucketArn: props.data.eventsBucketArn,
      logGroupArn: cluster.logGroupArn,
      userSecretPrefix: this.names.userSecretPrefix,
    });
    // The names apps are told resolve, inside the VPC only, to the host's private address (a record the host writes at boot).
    const zone = new SandboxZone(this, "sandbox-zone", {
      domain: sandboxDomain(this.names.prefix),
      vpcId: props.network.vpcId,
      vpcRegion: config.region,
    });
    // The subnets come from the configuration as ids; their CIDRs (the proxy's taskSubnets, the host firewall's task doors)
    // are read from AWS, one data source per subnet, in the same order.
    const subnetCidrs = props.network.privateSubnetIds.map(
      (id, index) => new DataAwsSubnet(this, `task-subnet-${index}`, { id }).cidrBlock,
    );
    const hostConfiguration: HostEcsConfiguration = {
      region: config.region,
      cluster: cluster.clusterName,
      subnets: props.network.privateSubnetIds,
      subnetCidrs,
      appSecurityGroup: tasks.apps,
      sandboxSecurityGroup: tasks.sandboxes,
      executionRoleArn: roles.executionRoleArn,
      fileSystemId: props.data.fileSystemId,
      hostAccessPointId,
      appRoleBoundaryArn: roles.appRoleBoundaryArn,
      appRolePath: APP_ROLE_PATH,
      sandboxRoleBoundaryArn: roles.sandboxBoundaryArn,
      sandboxRolePath: SANDBOX_ROLE_PATH,
      userSecretPrefix: this.names.userSecretPrefix,
      deployment: this.names.prefix,
      taskLogGroup: cluster.logGroupName,
      sandboxDomain: zone.domain,
      sandboxZoneId: zone.zoneId,
    };
    return {
      zone,
      hostConfiguration,
      permissions: {
        region: config.region,
        namePrefix: this.names.prefix,
        clusterArn: cluster.clusterArn,
        clusterName: cluster.clusterName,
        executionRoleArn: roles.executionRoleArn,
        appRoleBoundaryArn: roles.appRoleBoundaryArn,
        sandboxBoundaryArn: roles.sandboxBoundaryArn,
        fileSystemArn: props.data.fileSystemArn,
        userSecretPrefix: this.names.userSecretPrefix,
      },
      output: {
        cluster: cluster.clusterName,
        cluster_arn: cluster.clusterArn,
        subnets: props.network.privateSubnetIds,
        app_security_group: tasks.apps,
        sandbox_security_group: tasks.sandboxes,
        execution_role_arn: roles.executionRoleArn,
        app_role_boundary_arn: roles.appRoleBoundaryArn,
        app_role_path: APP_ROLE_PATH,
        sandbox_role_boundary_arn: roles.sandboxBoundaryArn,
        sandbox_role_path: SANDBOX_ROLE_PATH,
        task_log_group: cluster.logGroupName,
        file_system_id: props.data.fileSystemId,
        host_access_point_id: props.data.hostAccessPointId,
        user_secret_prefix: this.names.userSecretPrefix,
        sandbox_zone_id: zone.zoneId,
      },
    };
  }
}
