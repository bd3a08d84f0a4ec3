import type { DeploymentConfig } from "../../config/schema";

/** The host's Secrets Manager secrets (docs/CONTRACTS.md), by their key in the host configuration. */
export const HOST_SECRET_NAMES = {
  identitySigningKey: "identity-signing-key",
  openhandsJwtSecret: "openhands-jwt-secret",
  llmGatewayKey: "llm-gateway-key",
  dbPasswordKey: "db-password-key",
} as const;
export type HostSecretKey = keyof typeof HOST_SECRET_NAMES;

/** The host's log groups (docs/CONTRACTS.md `logGroups`), by key. */
export const HOST_LOG_GROUPS = ["host", "proxy", "spawner", "apps"] as const;
export type HostLogGroupKey = (typeof HOST_LOG_GROUPS)[number];

/** Names of main-region things that the host, the stacks and docs/CONTRACTS.md agree on. */
export class MainRegionNames {
  constructor(private readonly config: DeploymentConfig) {}

  /** `/<name>/<environment>`, the prefix of every log group and parameter. */
  get pathPrefix(): string {
    return `/${this.config.name}/${this.config.environment}`;
  }

  /** SSM parameter (main region) with the host configuration JSON. */
  get hostConfigParameter(): string {
    return `${this.pathPrefix}/host/config`;
  }

  /** Secrets Manager name of one host secret: `<name>/<environment>/<secret>`. */
  secretName(key: HostSecretKey): string {
    return `${this.config.name}/${this.config.environment}/${HOST_SECRET_NAMES[key]}`;
  }

  /** Log group of one host service: `/<name>/<environment>/<service>`. */
  logGroup(key: HostLogGroupKey): string {
    return `${this.pathPrefix}/${key}`;
  }

  get flowLogGroup(): string {
    return `${this.pathPrefix}/vpc-flow-logs`;
  }

  /** A resource name of at most `max` characters: `<name>-<environment>-<suffix>`, shortened with a stable hash when too long. */
  shortName(suffix: string, max: number): string {
    const full = `${this.config.name}-${this.config.environment}-${suffix}`;
    if (full.length <= max) return full;
    let hash = 0;
    for (const ch of full) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
    const tag = hash.toString(36).slice(0, 5);
    return `${full.slice(0, max - tag.length - 1 - suffix.length - 1)}-${tag}-${suffix}`.replace(/--+/g, "-");
  }
}
