import { HOST_LOG_GROUP_KEYS, type HostLogGroupKey, type HostSecretKey } from "@openhands-team/contracts";
import type { DeploymentConfig } from "./schema";

/** The region of CloudFront's certificate, WAF web ACL, Lambda@Edge and Cognito. */
export const EDGE_REGION = "us-east-1";

/** Stack ids in deployment order; each is a Terraform root module in cdktf.out/stacks/<id>. */
export const STACK_IDS = ["network", "data", "compute", "auth", "edge", "monitoring"] as const;
export type StackId = (typeof STACK_IDS)[number];

/** The host's Secrets Manager secrets (docs/CONTRACTS.md), by their key in the host configuration. */
export const HOST_SECRET_NAMES = {
  identitySigningKey: "identity-signing-key",
  openhandsJwtSecret: "openhands-jwt-secret",
  llmGatewayKey: "llm-gateway-key",
  dbPasswordKey: "db-password-key",
} as const satisfies Record<HostSecretKey, string>;
export type { HostLogGroupKey, HostSecretKey };

/** ECS mode: IAM path of the per-user sandbox task roles the spawner creates (docs/ecs.md, section 4). */
export const SANDBOX_ROLE_PATH = "/oh-sandbox/";

/** ECS mode: IAM path of the per-user app task roles the spawner creates (docs/ecs.md, section 4). */
export const APP_ROLE_PATH = "/oh-app/";

/** ECS mode: task definition families the spawner registers, `oh-app-<slug>` and `oh-sbx-<slug>` (docs/ecs.md, section 3). */
export const TASK_FAMILY_PREFIXES = { app: "oh-app-", sandbox: "oh-sbx-" } as const;

/** The host's log groups (docs/CONTRACTS.md `logGroups`), by key. */
export const HOST_LOG_GROUPS = HOST_LOG_GROUP_KEYS;

/**
 * Every name derived from the configuration, in one place so that every stack, the host and docs/CONTRACTS.md agree:
 * resource name prefixes, parameter and secret names, log groups, zones and state keys.
 */
export class DeploymentNames {
  constructor(private readonly config: DeploymentConfig) {}

  /** `<name>-<environment>`, the prefix of every resource name. */
  get prefix(): string {
    return `${this.config.name}-${this.config.environment}`;
  }

  /** `/<name>/<environment>`, the prefix of every log group and parameter. */
  get pathPrefix(): string {
    return `/${this.config.name}/${this.config.environment}`;
  }

  /** SSM parameter (us-east-1) with the edge functions' plain configuration. */
  get edgeConfigParameter(): string {
    return `${this.pathPrefix}/edge/config`;
  }

  /** SSM SecureString parameter (us-east-1) with the edge functions' keys. */
  get edgeSecretsParameter(): string {
    return `${this.pathPrefix}/edge/secrets`;
  }

  /** SSM parameter (main region) with the host configuration JSON. */
  get hostConfigParameter(): string {
    return `${this.pathPrefix}/host/config`;
  }

  /** Secrets Manager prefix (main region) of the host's secrets. */
  get secretPrefix(): string {
    return `${this.config.name}/${this.config.environment}`;
  }

  /** Secrets Manager name of one host secret: `<name>/<environment>/<secret>`. */
  secretName(key: HostSecretKey): string {
    return `${this.secretPrefix}/${HOST_SECRET_NAMES[key]}`;
  }

  /** Log group of one host service: `/<name>/<environment>/<service>`. */
  logGroup(key: HostLogGroupKey): string {
    return `${this.pathPrefix}/${key}`;
  }

  /** Log group of the VPC flow logs (main region). */
  get flowLogGroup(): string {
    return `${this.pathPrefix}/vpc-flow-logs`;
  }

  /** Log group of the CloudFront access logs (us-east-1). */
  get cloudFrontLogGroup(): string {
    return `${this.pathPrefix}/cloudfront`;
  }

  /** Name of the CloudFront web ACL (its metrics are `<webAclName>-<rule>`). */
  get webAclName(): string {
    return `${this.prefix}-edge`;
  }

  /** Name of the CloudFront VPC origin of the internal ALB. */
  get vpcOriginName(): string {
    return `${this.prefix}-alb`;
  }

  /** ECS mode: the cluster of users' app and sandbox tasks. */
  get taskCluster(): string {
    return `${this.prefix}-users`;
  }

  /** ECS mode: the log group every user task writes to (one stream per task). */
  get taskLogGroup(): string {
    return `${this.pathPrefix}/tasks`;
  }

  /**
   * ECS mode: Secrets Manager name prefix of the users' app secrets (`<name>/<environment>/users/<slug>/...`), under the
   * deployment's secret prefix but apart from the host's own secrets, which the task execution role must not read.
   */
  get userSecretPrefix(): string {
    return `${this.secretPrefix}/users/`;
  }

  /** Route 53 zone of the runtime domain: its own zone, or the apex zone when it lies under the apex. */
  get runtimeZoneId(): string {
    return this.config.domain.runtime.hostedZoneId ?? this.config.domain.hostedZoneId;
  }

  /** Bedrock region. */
  get bedrockRegion(): string {
    return this.config.bedrock.region ?? this.config.region;
  }

  /** Terraform state key of a stack (S3 backend). */
  stateKey(stack: StackId, keyPrefix: string): string {
    return `${keyPrefix}/${this.config.name}/${this.config.environment}/${stack}.tfstate`;
  }

  /** A resource name of at most `max` characters: `<name>-<environment>-<suffix>`, shortened with a stable hash when too long. */
  shortName(suffix: string, max: number): string {
    const full = `${this.prefix}-${suffix}`;
    if (full.length <= max) return full;
    let hash = 0;
    for (const ch of full) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
    const tag = hash.toString(36).slice(0, 5);
    return `${full.slice(0, max - tag.length - 1 - suffix.length - 1)}-${tag}-${suffix}`.replace(/--+/g, "-");
  }
}
