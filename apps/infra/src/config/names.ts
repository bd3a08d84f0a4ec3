import type { DeploymentConfig } from "./schema";

/** The region of CloudFront's certificate, WAF web ACL, Lambda@Edge and Cognito. */
export const EDGE_REGION = "us-east-1";

/** Stack ids in deployment order; each is a Terraform root module in cdktf.out/stacks/<id>. */
export const STACK_IDS = ["network", "data", "compute", "auth", "edge", "monitoring"] as const;
export type StackId = (typeof STACK_IDS)[number];

/** Names derived from the configuration, in one place so that every stack and package agrees. */
export class DeploymentNames {
  constructor(private readonly config: DeploymentConfig) {}

  /** `<name>-<environment>`, the prefix of every resource name. */
  get prefix(): string {
    return `${this.config.name}-${this.config.environment}`;
  }

  /** SSM parameter (us-east-1) with the edge functions' plain configuration. */
  get edgeConfigParameter(): string {
    return `/${this.config.name}/${this.config.environment}/edge/config`;
  }

  /** SSM SecureString parameter (us-east-1) with the edge functions' keys. */
  get edgeSecretsParameter(): string {
    return `/${this.config.name}/${this.config.environment}/edge/secrets`;
  }

  /** Secrets Manager prefix (main region) of the host's secrets. */
  get secretPrefix(): string {
    return `${this.config.name}/${this.config.environment}`;
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
}
