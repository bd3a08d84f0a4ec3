import { Construct } from "constructs";
import { Fn, TerraformLocal } from "cdktf";
import { DataAwsPartition } from "@cdktf/provider-aws/lib/data-aws-partition";
import { IamInstanceProfile } from "@cdktf/provider-aws/lib/iam-instance-profile";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";

/** CloudWatch namespaces the host may publish metrics to (the CloudWatch agent's default and the host's own). */
export const HOST_METRIC_NAMESPACES = ["CWAgent", "OpenHandsTeam"] as const;

/** Geography prefixes of Bedrock cross-region inference profiles. */
const PROFILE_PREFIX = /^(us|eu|apac|jp|au|global)\.(.+)$/;

/**
 * Session Manager and Run Command: the statements of AWS's AmazonSSMManagedInstanceCore that a host needs,
 * without that policy's `ssm:GetParameter*` on every parameter of the account. These actions support no
 * resource-level scoping (the API takes no resource ARN), so they are the only ones on "*".
 */
export const SSM_CORE_ACTIONS = [
  "ssm:UpdateInstanceInformation",
  "ssm:ListAssociations",
  "ssm:ListInstanceAssociations",
  "ssm:UpdateInstanceAssociationStatus",
  "ssmmessages:CreateControlChannel",
  "ssmmessages:CreateDataChannel",
  "ssmmessages:OpenControlChannel",
  "ssmmessages:OpenDataChannel",
  "ec2messages:AcknowledgeMessage",
  "ec2messages:DeleteMessage",
  "ec2messages:FailMessage",
  "ec2messages:GetEndpoint",
  "ec2messages:GetMessages",
  "ec2messages:SendReply",
] as const;

export interface HostRoleProps {
  readonly namePrefix: string;
  /** Main region (host configuration parameter). */
  readonly region: string;
  /** Region of the Bedrock calls. */
  readonly bedrockRegion: string;
  /** Bedrock model or inference-profile ids the LLM gateway may invoke. */
  readonly bedrockModels: readonly string[];
  readonly eventsBucketArn: string;
  readonly fileSystemArn: string;
  /** The host's own secrets (read, write once on first boot). */
  readonly secretArns: readonly string[];
  /** Aurora's RDS-managed master secret (read only). */
  readonly databaseMasterSecretArn: string;
  /** Name of the host configuration parameter, main region. */
  readonly hostConfigParameter: string;
  /** Name of the edge secrets parameter, us-east-1. */
  readonly edgeSecretsParameter: string;
  /** Name of the edge configuration parameter, us-east-1: the host reads the issuer's `jwksUri` there. */
  readonly edgeConfigParameter: string;
  readonly edgeRegion: string;
  /** ARNs of the host's log groups. */
  readonly logGroupArns: readonly string[];
  /** ARN of the host bundle object in the artifacts bucket. */
  readonly bundleObjectArn: string;
  /** More statements (ECS mode: the spawner's), given the partition and the account. @default none */
  readonly additionalStatements?: (scope: { readonly partition: string; readonly account: string }) => readonly PolicyStatement[];
}

/** One statement of an IAM policy document. */
export interface PolicyStatement {
  readonly Sid: string;
  readonly Effect: "Allow" | "Deny";
  readonly Action: string | readonly string[];
  readonly Resource: string | readonly string[];
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;
}

/**
 * The instance role of the host, with only what it needs: no wildcard action, and every resource named
 * except where the API has no resource to name (SSM agent channels, `cloudwatch:PutMetricData`, which is
 * bound to the host's namespaces by a condition instead).
 */
export class HostRole extends Construct {
  readonly roleArn: string;
  readonly roleName: string;
  readonly instanceProfileArn: string;
  readonly instanceProfileName: string;
  /** The statements of the inline policy, for tests and documentation. */
  readonly statements: readonly PolicyStatement[];

  constructor(scope: Construct, id: string, props: HostRoleProps) {
    super(scope, id);
    const partition = new DataAwsPartition(this, "partition").partition;
    const role = new IamRole(this, "role", {
      name: `${props.namePrefix}-host`,
      description: "OpenHands host: Bedrock, its bucket, file system, secrets, parameters and logs",
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
      }),
    });
    // The account, from the role's own ARN: no data source that would call AWS at plan time.
    // A local keeps the expression's quotes out of the JSON policy text.
    const account = new TerraformLocal(this, "account-id", Fn.element(Fn.split(":", role.arn), 4)).asString;
    const statements = [
      ...bedrockStatements(partition, account, props.bedrockRegion, props.bedrockModels),
      // Cross-user and cross-prefix tampering: only the users/ prefix, where each app writes its own events.
      {
        Sid: "EventsReadWrite",
        Effect: "Allow",
        Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
        Resource: `${props.eventsBucketArn}/users/*`,
      },
      {
        Sid: "EventsList",
        Effect: "Allow",
        Action: "s3:ListBucket",
        Resource: props.eventsBucketArn,
        Condition: { StringLike: { "s3:prefix": ["users/*"] } },
      },
      // Mounts from outside the VPC's mount targets (a leaked role session elsewhere) are refused.
      {
        Sid: "WorkspacesMount",
        Effect: "Allow",
        Action: ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite", "elasticfilesystem:ClientRootAccess"],
        Resource: props.fileSystemArn,
        Condition: { Bool: { "elasticfilesystem:AccessedViaMountTarget": "true" } },
      },
      // Secret sprawl: exactly the four named secrets, never a name pattern another deployment could match.
      {
        Sid: "HostSecrets",
        Effect: "Allow",
        Action: ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:DescribeSecret"],
        Resource: [...props.secretArns],
      },
      {
        Sid: "DatabaseMasterSecret",
        Effect: "Allow",
        Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
        Resource: props.databaseMasterSecretArn,
      },
      {
        Sid: "HostConfiguration",
        Effect: "Allow",
        Action: "ssm:GetParameter",
        Resource: `arn:${partition}:ssm:${props.region}:${account}:parameter${props.hostConfigParameter}`,
      },
      {
        Sid: "EdgeSecretsFirstBoot",
        Effect: "Allow",
        Action: ["ssm:GetParameter", "ssm:PutParameter"],
        Resource: `arn:${partition}:ssm:${props.edgeRegion}:${account}:parameter${props.edgeSecretsParameter}`,
      },
      {
        // The host stores the issuer's JWKS next to the edge secrets (one round trip for a cold edge); it reads the
        // issuer's jwksUri from the edge configuration, and only reads it.
        Sid: "EdgeConfigJwksUri",
        Effect: "Allow",
        Action: "ssm:GetParameter",
        Resource: `arn:${partition}:ssm:${props.edgeRegion}:${account}:parameter${props.edgeConfigParameter}`,
      },
      {
        // The LLM gateway's hook refuses the keys of people disabled in the user pool: it lists them (read only). The
        // pool's id is known only to the auth stack, so any pool of the account in the edge region; ListUsers reads no
        // password and changes nothing.
        Sid: "LlmGatewayDisabledPeople",
        Effect: "Allow",
        Action: "cognito-idp:ListUsers",
        Resource: `arn:${partition}:cognito-idp:${props.edgeRegion}:${account}:userpool/*`,
      },
      {
        Sid: "HostBundle",
        Effect: "Allow",
        Action: "s3:GetObject",
        Resource: props.bundleObjectArn,
      },
      {
        Sid: "Logs",
        Effect: "Allow",
        Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
        Resource: props.logGroupArns.flatMap((arn) => [arn, `${arn}:*`]),
      },
      // Metric spoofing into other namespaces (alarms of other systems): the host's namespaces only.
      {
        Sid: "Metrics",
        Effect: "Allow",
        Action: "cloudwatch:PutMetricData",
        Resource: "*",
        Condition: { StringEquals: { "cloudwatch:namespace": [...HOST_METRIC_NAMESPACES] } },
      },
      {
        Sid: "SessionManager",
        Effect: "Allow",
        Action: [...SSM_CORE_ACTIONS],
        Resource: "*",
      },
      ...(props.additionalStatements?.({ partition, account }) ?? []),
    ] satisfies PolicyStatement[];
    new IamRolePolicy(this, "policy", {
      role: role.name,
      name: "host",
      policy: JSON.stringify({ Version: "2012-10-17", Statement: statements }),
    });
    const profile = new IamInstanceProfile(this, "profile", { name: `${props.namePrefix}-host`, role: role.name });
    this.roleArn = role.arn;
    this.roleName = role.name;
    this.instanceProfileArn = profile.arn;
    this.instanceProfileName = profile.name;
    this.statements = statements;
  }
}

/**
 * Bedrock invoke on exactly the configured models. An inference profile (`eu.`, `us.`, `global.` ...) is an
 * account resource in the Bedrock region and routes to the model in several regions, so the underlying
 * foundation model is allowed in any region, but only when called through one of these profiles.
 */
export function bedrockStatements(partition: string, account: string, region: string, models: readonly string[]): PolicyStatement[] {
  const actions = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"];
  const profiles = models.filter((m) => PROFILE_PREFIX.test(m));
  const direct = models.filter((m) => !PROFILE_PREFIX.test(m));
  const statements: PolicyStatement[] = [];
  if (direct.length) {
    statements.push({
      Sid: "BedrockModels",
      Effect: "Allow",
      Action: actions,
      Resource: direct.map((m) => `arn:${partition}:bedrock:${region}::foundation-model/${m}`),
    });
  }
  if (profiles.length) {
    const profileArns = profiles.map((m) => `arn:${partition}:bedrock:${region}:${account}:inference-profile/${m}`);
    statements.push({ Sid: "BedrockInferenceProfiles", Effect: "Allow", Action: actions, Resource: profileArns });
    const underlying = [...new Set(profiles.map((m) => PROFILE_PREFIX.exec(m)![2]!))];
    // Model hopping: the underlying model is reachable only through one of the configured profiles.
    statements.push({
      Sid: "BedrockModelsThroughProfiles",
      Effect: "Allow",
      Action: actions,
      Resource: underlying.flatMap((m) => [
        `arn:${partition}:bedrock:*::foundation-model/${m}`,
        `arn:${partition}:bedrock:::foundation-model/${m}`,
      ]),
      Condition: { StringLike: { "bedrock:InferenceProfileArn": profileArns } },
    });
  }
  return statements;
}
