// The host configuration (docs/CONTRACTS.md, "Host configuration"): apps/infra writes it to SSM, the host bundle's installer
// (packages/bootstrap-scripts) reads it with jq; vectors/host-config.json is one document both sides are tested against.

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
}

/** The top-level fields of HostConfiguration, every one of them (the compiler checks the list against the type). */
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
type MissingKey = Exclude<keyof HostConfiguration, (typeof HOST_CONFIGURATION_KEYS)[number]>;
/** Fails to compile when HostConfiguration gains a field the list above lacks. */
export const HOST_CONFIGURATION_KEYS_COMPLETE: [MissingKey] extends [never] ? true : MissingKey = true;
