import { CloudBackend, LocalBackend, NamedCloudWorkspace, S3Backend, TerraformOutput, TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import type { DeploymentConfig } from "../config/schema";
import { DeploymentNames, EDGE_REGION, type StackId } from "../config/names";

/** The oldest Terraform that applies every stack: write-only attributes (`value_wo`) arrived in 1.11. */
export const MIN_TERRAFORM_VERSION = "1.11";

export interface DeploymentStackProps {
  readonly config: DeploymentConfig;
  /** Region of the stack's default provider. */
  readonly region: string;
  /** Adds a provider aliased `us_east_1` (for edge-side resources or metrics read from a main-region stack). @default false */
  readonly withEdgeRegionProvider?: boolean;
}

/**
 * A Terraform root module of the deployment: its AWS provider(s) with default tags and its state backend
 * (S3 with encryption and a lock file, Terraform Cloud, or local), all from the configuration.
 */
export abstract class DeploymentStack extends TerraformStack {
  readonly config: DeploymentConfig;
  readonly names: DeploymentNames;
  readonly region: string;
  /** The stack's default provider. */
  readonly provider: AwsProvider;
  /** The `us_east_1` alias, when requested. */
  readonly edgeRegionProvider?: AwsProvider;
  /** What synth tells the operator about this stack (something left out, and why). */
  readonly notes: string[] = [];

  protected constructor(
    scope: Construct,
    readonly stackId: StackId,
    props: DeploymentStackProps,
  ) {
    super(scope, stackId);
    this.config = props.config;
    this.names = new DeploymentNames(props.config);
    this.region = props.region;
    const defaultTags = [{ tags: this.tags() }];
    this.provider = new AwsProvider(this, "aws", { region: props.region, defaultTags });
    if (props.withEdgeRegionProvider) {
      this.edgeRegionProvider = new AwsProvider(this, "aws-us-east-1", { alias: "us_east_1", region: EDGE_REGION, defaultTags });
    }
    this.configureBackend();
    // Write-only attributes (the edge secrets parameter's value_wo) need Terraform 1.11; S3 native locking 1.10.
    this.addOverride("terraform.required_version", `>= ${MIN_TERRAFORM_VERSION}`);
  }

  /**
   * An output under a plain name, for the person who applies the stack (`terraform output`): what they need
   * to find the deployment (URLs, ids, log groups), never a secret.
   */
  protected operatorOutput(name: string, value: unknown, description: string): void {
    new TerraformOutput(this, name, { value, description });
  }

  /** Records a note that synth prints under the summary. */
  note(text: string): void {
    this.notes.push(text);
  }

  private tags(): Record<string, string> {
    return {
      ...this.config.tags,
      Project: this.config.name,
      Environment: this.config.environment,
      Stack: this.stackId,
      ManagedBy: "openhands-team",
    };
  }

  private configureBackend(): void {
    const backend = this.config.stateBackend;
    switch (backend.type) {
      case "s3":
        new S3Backend(this, {
          bucket: backend.bucket,
          key: this.names.stateKey(this.stackId, backend.keyPrefix),
          region: backend.region,
          encrypt: true,
          ...(backend.kmsKeyId ? { kmsKeyId: backend.kmsKeyId } : {}),
        });
        // cdktf 0.21's S3BackendConfig predates Terraform 1.10's native S3 locking.
        this.addOverride("terraform.backend.s3.use_lockfile", true);
        break;
      case "terraform-cloud":
        new CloudBackend(this, {
          hostname: backend.hostname,
          organization: backend.organization,
          workspaces: new NamedCloudWorkspace(`${backend.workspacePrefix}-${this.stackId}`),
        });
        break;
      case "local":
        new LocalBackend(this, { path: `${backend.directory}/${this.stackId}.tfstate` });
        break;
    }
  }
}
