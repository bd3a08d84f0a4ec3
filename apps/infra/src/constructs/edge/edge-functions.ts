import { Construct } from "constructs";
import { AssetType, Fn, TerraformAsset, TerraformLocal } from "cdktf";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function";
import { EDGE_FUNCTION_KINDS, edgeBundleFolder, type EdgeFunctionKind } from "./edge-auth-bundle";

/** A Node.js runtime Lambda@Edge supports. The bundle loads no AWS SDK: it signs one SSM GetParameters call itself. */
export const EDGE_RUNTIME = "nodejs22.x";

/** Viewer-triggered functions: 128 MB and 5 seconds are Lambda@Edge's limits for viewer events. */
const VIEWER_LIMITS = { memorySize: 128, timeout: 5 };

export interface EdgeFunctionsProps {
  /**
   * `<name>-<environment>`: functions are `<prefix>-edge-<kind>`. A contract with packages/edge-auth, which has no
   * environment variables at the edge and derives `/<name>/<environment>/edge/{config,secrets}` from its own name.
   */
  readonly namePrefix: string;
  /** The only parameters the functions may read: the edge configuration and secrets. */
  readonly parameterArns: readonly string[];
  /** Retention of the us-east-1 log groups (other edge regions create theirs on first use). @default 30 */
  readonly logRetentionDays?: number;
  /** Folder of @openhands-team/edge-auth. @default resolved from the workspace */
  readonly bundlePackageRoot?: string;
}

export interface EdgeFunction {
  readonly kind: EdgeFunctionKind;
  readonly functionName: string;
  /** Qualified ARN of the published version: CloudFront associates versions, never $LATEST. */
  readonly qualifiedArn: string;
  /** `/aws/lambda/us-east-1.<function>`: the name its replicas log under in every region. */
  readonly logGroupName: string;
}

/**
 * The Lambda@Edge function of packages/edge-auth (viewer-request: authentication), published as numbered versions
 * in us-east-1 from the bundle built by the Turbo graph, with a role that trusts lambda and edgelambda and may read
 * exactly the two edge parameters. No origin-facing function: CloudFront refuses them on a VPC origin.
 */
export class EdgeFunctions extends Construct {
  readonly roleArn: string;
  readonly viewerRequest: EdgeFunction;

  constructor(scope: Construct, id: string, props: EdgeFunctionsProps) {
    super(scope, id);
    const names = Object.fromEntries(EDGE_FUNCTION_KINDS.map((kind) => [kind, `${props.namePrefix}-edge-${kind}`])) as Record<
      EdgeFunctionKind,
      string
    >;

    const role = new IamRole(this, "role", {
      name: `${props.namePrefix}-edge-functions`,
      description: "Lambda@Edge functions of OpenHands: logs and the two edge parameters",
      // Lambda@Edge replicas run as edgelambda: without it the association fails.
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Principal: { Service: ["lambda.amazonaws.com", "edgelambda.amazonaws.com"] },
            Action: "sts:AssumeRole",
          },
        ],
      }),
    });
    // The account id, taken from the role's ARN: no data source that would call AWS during plan. A local keeps
    // the expression (and its quotes) out of the policy text, which stays readable JSON.
    const account = new TerraformLocal(this, "account-id", Fn.element(Fn.split(":", role.arn), 4)).asString;
    const logGroupArns = EDGE_FUNCTION_KINDS.map((kind) => `arn:aws:logs:*:${account}:log-group:/aws/lambda/us-east-1.${names[kind]}`);
    const policy = new IamRolePolicy(this, "policy", {
      role: role.id,
      name: "edge-functions",
      policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "Logs",
            Effect: "Allow",
            Action: ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            // Replicas log in the region that served the viewer, always to /aws/lambda/us-east-1.<function>.
            Resource: logGroupArns.flatMap((arn) => [arn, `${arn}:*`]),
          },
          {
            Sid: "EdgeParameters",
            Effect: "Allow",
            // Exactly the two edge parameters, in one GetParameters call: the functions read no other configuration or secret.
            Action: "ssm:GetParameters",
            Resource: [...props.parameterArns],
          },
        ],
      }),
    });

    const build = (kind: EdgeFunctionKind): EdgeFunction => {
      const logGroup = new CloudwatchLogGroup(this, `${kind}-logs`, {
        name: `/aws/lambda/us-east-1.${names[kind]}`,
        retentionInDays: props.logRetentionDays ?? 30,
      });
      const asset = new TerraformAsset(this, `${kind}-bundle`, {
        path: edgeBundleFolder(kind, props.bundlePackageRoot),
        type: AssetType.ARCHIVE,
      });
      const fn = new LambdaFunction(this, kind, {
        functionName: names[kind],
        description: `OpenHands ${kind} (packages/edge-auth)`,
        role: role.arn,
        runtime: EDGE_RUNTIME,
        // Lambda@Edge runs x86_64 only.
        architectures: ["x86_64"],
        handler: "index.handler",
        // The asset's folder is named by a hash of the bundle's content: a changed bundle changes `filename`, which
        // uploads it and publishes a version. No source_code_hash: the zip's bytes carry file times, so hashing
        // them would publish a new version after every rebuild of an unchanged bundle.
        filename: asset.path,
        ...VIEWER_LIMITS,
        // Every change publishes a numbered version; CloudFront is pointed at that version.
        publish: true,
        // A new bundle never runs before the permission it calls with exists.
        dependsOn: [policy],
      });
      return { kind, functionName: names[kind], qualifiedArn: fn.qualifiedArn, logGroupName: logGroup.name };
    };
    this.viewerRequest = build("viewer-request");
    this.roleArn = role.arn;
  }
}
