// The host configuration (docs/CONTRACTS.md, "Host configuration"): apps/infra writes it to SSM, the host bundle's installer
// (packages/bootstrap-scripts) reads it with jq; vectors/host-config.json (docker mode) and vectors/host-config-ecs.json (ECS
// mode) are the documents both sides are tested against.

/** The host's Secrets Manager secrets, by their key in the host configuration. */
export const HOST_SECRET_KEYS = ["identitySigningKey", "openhandsJwtSecret", "llmGatewayKey", "dbPasswordKey"] as const;
export type HostSecretKey = (typeof HOST_SECRET_KEYS)[number];

/** The host's CloudWatch log groups, by key. */
export const HOST_LOG_GROUP_KEYS = ["host", "proxy", "spawner", "apps"] as const;
export type HostLogGroupKey = (typeof HOST_LOG_GROUP_KEYS)[number];

/** The images the host runs, by key. */
export const HOST_IMAGE_KEYS = ["app", "agentServer", "openresty", "llmGateway", "node"] as const;
export type HostImageKey = (typeof HOST_IMAGE_KEYS)[number];

/** SSM String `/<name>/<environment>/host/config`, version 1. In apps/infra the values may be Terraform references. */
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
  /** Secret ARNs (never values). */
  readonly secrets: Readonly<Record<HostSecretKey, string>>;
  readonly edgeSecretsParameter: { readonly name: string; readonly region: string };
  readonly images: Readonly<Record<HostImageKey, string>>;
  readonly bedrock: {
    readonly region: string;
    readonly models: readonly string[];
    /** Optional per-person limits, enforced by the LLM gateway's hook: requests and tokens a minute, and a monthly spend alert in USD. */
    readonly perUser?: { readonly requestsPerMinute?: number; readonly tokensPerMinute?: number; readonly monthlySpendAlertUsd?: number };
  };
  readonly users: {
    readonly idleMinutes: number;
    readonly maxRunningApps: number;
    readonly maxRunningSandboxes: number;
    readonly sandboxesPerUser: number;
  };
  readonly logGroups: Readonly<Record<HostLogGroupKey, string>>;
  /** Present only when the deployment's `compute.mode` is ecs: users' apps and sandboxes run as Fargate tasks (docs/ecs.md). */
  readonly ecs?: HostEcsConfiguration;
}

/**
 * ECS mode: what the spawner's `ecs` configuration needs and the host cannot find by itself, from the compute stack's ECS
 * resources (its Terraform output `ecs`). The host adds its own private address and the sandbox API key secret.
 */
export interface HostEcsConfiguration {
  /** The cluster's region (the main region). */
  readonly region: string;
  /** Name of the cluster of users' tasks, `<name>-<environment>-users`. */
  readonly cluster: string;
  /** Private subnets the tasks run in. */
  readonly subnets: readonly string[];
  /**
   * The IPv4 CIDRs of `subnets`, in the same order (RFC 1918, /16 to /28): the runtime proxy routes to tasks only inside
   * them (its `taskSubnets`), and the host firewall admits tasks to the relay, the LLM gateway, the sandbox API and the
   * proxy's sandbox names only from them.
   */
  readonly subnetCidrs: readonly string[];
  readonly appSecurityGroup: string;
  readonly sandboxSecurityGroup: string;
  /** The role Fargate pulls images, writes logs and reads users' app secrets with. */
  readonly executionRoleArn: string;
  /** The EFS file system of the users' access points: the same as `efsFileSystemId`. */
  readonly fileSystemId: string;
  /** The host's own access point (root `/`): the file system policy refuses mounts without one. */
  readonly hostAccessPointId: string;
  /** The permissions boundary every per-user app role is created with. */
  readonly appRoleBoundaryArn: string;
  /** IAM path of the per-user app roles, such as `/oh-app/`. */
  readonly appRolePath: string;
  /** The permissions boundary every per-user sandbox role is created with. */
  readonly sandboxRoleBoundaryArn: string;
  /** IAM path of the per-user sandbox roles, such as `/oh-sandbox/`. */
  readonly sandboxRolePath: string;
  /** Secrets Manager name prefix of the users' app secrets, ending in `/`. */
  readonly userSecretPrefix: string;
  /** `<name>-<environment>`: the tag of the users' access points and part of every app and sandbox role name. */
  readonly deployment: string;
  /** The log group of users' tasks. */
  readonly taskLogGroup: string;
  /** Internal domain of sandbox URLs (`http://<route port>-<slug>.<sandbox domain>`), resolved to the host inside the VPC. */
  readonly sandboxDomain: string;
  /**
   * The Route 53 private hosted zone of `sandboxDomain`, associated with the VPC: the host UPSERTs its A record
   * `*.<sandboxDomain>` (its own private address) there at boot, the only change its role may make in the zone.
   */
  readonly sandboxZoneId: string;
}

/** The top-level fields every HostConfiguration has (the compiler checks this list and the next against the type). */
export const HOST_CONFIGURATION_KEYS = [
  "version",
  "name",
  "environment",
  "region",
  "appHost",
  "runtimeDomain",
  "efsFileSystemId",
  "eventsBucket",
  "database",
  "network",
  "secrets",
  "edgeSecretsParameter",
  "images",
  "bedrock",
  "users",
  "logGroups",
] as const satisfies readonly (keyof HostConfiguration)[];
/** The top-level fields present only in some deployments: `ecs` in ECS mode. */
export const HOST_CONFIGURATION_OPTIONAL_KEYS = ["ecs"] as const satisfies readonly (keyof HostConfiguration)[];
type MissingKey = Exclude<
  keyof HostConfiguration,
  (typeof HOST_CONFIGURATION_KEYS)[number] | (typeof HOST_CONFIGURATION_OPTIONAL_KEYS)[number]
>;
/** Fails to compile when HostConfiguration gains a field the list above lacks. */
export const HOST_CONFIGURATION_KEYS_COMPLETE: [MissingKey] extends [never] ? true : MissingKey = true;

/** The fields of the `ecs` section, every one of them required there. */
export const HOST_ECS_KEYS = [
  "region",
  "cluster",
  "subnets",
  "subnetCidrs",
  "appSecurityGroup",
  "sandboxSecurityGroup",
  "executionRoleArn",
  "fileSystemId",
  "hostAccessPointId",
  "appRoleBoundaryArn",
  "appRolePath",
  "sandboxRoleBoundaryArn",
  "sandboxRolePath",
  "userSecretPrefix",
  "deployment",
  "taskLogGroup",
  "sandboxDomain",
  "sandboxZoneId",
] as const satisfies readonly (keyof HostEcsConfiguration)[];
type MissingEcsKey = Exclude<keyof HostEcsConfiguration, (typeof HOST_ECS_KEYS)[number]>;
/** Fails to compile when HostEcsConfiguration gains a field the list above lacks. */
export const HOST_ECS_KEYS_COMPLETE: [MissingEcsKey] extends [never] ? true : MissingEcsKey = true;
