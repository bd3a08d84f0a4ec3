import { z } from "zod";
import { CLOUDFRONT_ORIGIN_FACING_PREFIX_LISTS } from "./cloudfront-prefix-lists";
import { cidrsOverlap, parseCidr } from "./cidr";
import { withArticle } from "./wording";

/**
 * The deployment configuration: one file, validated once, read by every stack.
 *
 * Each refinement message is written to follow `config.<field>: <value>` and says what the value
 * should be, so that the formatted error names the field, the bad value and the fix.
 */

const HOSTNAME = /^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const hostname = (what: string) =>
  z.string().regex(HOSTNAME, `is not ${withArticle(what)} (expected a lower-case DNS name such as openhands.example.com)`);

const REGION = /^(us|eu|ap|ca|sa|me|af|il|mx)-(north|south|east|west|central|northeast|southeast|northwest|southwest)-[1-9]$/;
const region = z.string().regex(REGION, "is not an AWS region (expected a region code such as eu-central-1)");

const zoneId = z
  .string()
  .regex(/^Z[A-Z0-9]{10,32}$/, "is not a Route 53 zone id (expected Z followed by 10-32 upper-case letters or digits)");

/**
 * Verified pairs: the app image pins its agent-server (1.7.0: openhands/app_server/sandbox/sandbox_spec_service.py;
 * 1.11.0: pyproject.toml pins openhands-agent-server==1.34.0 and the default tag is that version plus `-python`).
 */
export const VERIFIED_OPENHANDS_PAIRS: Readonly<Record<string, string>> = {
  "1.7.0": "1.19.1-python",
  "1.11.0": "1.34.0-python",
};

/** The agent-server repository OpenHands treats as its own (sandbox_spec_service.py). */
export const DEFAULT_AGENT_SERVER_REPOSITORY = "ghcr.io/openhands/agent-server";

/** The `major.minor.patch` an app tag starts with (`1.11.0`, `v1.11.0`), or undefined. */
export function openhandsAppVersion(tag: string): [number, number, number] | undefined {
  const match = /^(?:v|main-v)?(\d+)\.(\d+)\.(\d+)(?![\d.])/.exec(tag);
  return match ? [Number(match[1]), Number(match[2]), Number(match[3])] : undefined;
}

/**
 * Whether the app can connect to PostgreSQL over TLS: from 1.8.0 it reads DB_SSL_MODE for both its drivers
 * (asyncpg and the pg8000 migrations); 1.7.0 sends no SSL options at all.
 */
export function appSupportsDatabaseTls(tag: string): boolean {
  const version = openhandsAppVersion(tag);
  if (!version) return false;
  const [major, minor] = version;
  return major > 1 || (major === 1 && minor >= 8);
}

/** CloudWatch Logs accepts only these retention values. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** The host's per-user Docker bridges take /24s from this pool (docs/CONTRACTS.md). */
export const USER_NETWORK_POOL = "10.240.0.0/16";

/** An exact version tag, optionally prefixed `v` or `main-v` (LiteLLM's release tags are); `latest` and floating tags are refused. */
const PINNED_TAG = /^(v|main-v)?[0-9]+\.[0-9]+\.[0-9]+[A-Za-z0-9._-]*$/;
const IMAGE_REPOSITORY = /^[a-z0-9]+([._-][a-z0-9]+)*(\.[a-z0-9-]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)+$/;

/** A pinned container image: every image the host runs (the OpenHands pair and the host's own services). */
const image = (what: string, example: { repository: string; tags: string }) =>
  z
    .object({
      repository: z
        .string()
        .regex(
          IMAGE_REPOSITORY,
          `is not an image repository for the ${what} (expected registry/path without a tag, such as ${example.repository})`,
        )
        .describe(`Registry and repository of the ${what} image, without a tag, such as ${example.repository}.`),
      tag: z
        .string()
        .regex(PINNED_TAG, `is not a pinned tag for the ${what} (expected an exact version such as ${example.tags}, never latest)`)
        .describe(
          `Exact version tag of the ${what} image, such as ${example.tags}; never latest. Quote it when YAML would read it as a ` +
            `number ("1.7").`,
        ),
      digest: z
        .string()
        .regex(/^sha256:[0-9a-f]{64}$/, "is not an image digest (expected sha256: followed by 64 hex digits)")
        .optional()
        .describe(`Content digest (sha256:...) that pins the exact ${what} image. Default: none (the tag alone).`),
    })
    .strict();
const HOST_IMAGE_EXAMPLE = { repository: "docker.io/library/node", tags: "1.27.1.2-alpine or v1.74.9-stable" };

/** Pinned defaults of the host's own services; check them against the registries when upgrading. */
export const DEFAULT_HOST_IMAGES = {
  openresty: { repository: "docker.io/openresty/openresty", tag: "1.27.1.2-alpine" },
  llmGateway: { repository: "ghcr.io/berriai/litellm", tag: "v1.74.9-stable" },
  node: { repository: "docker.io/library/node", tag: "24.11.1-bookworm-slim" },
} as const;

/** A client range of the WAF allow list: a real IPv4 or IPv6 CIDR, network address, not /0. */
const allowedCidr = z.string().superRefine((value, ctx) => {
  const parsed = parseCidr(value);
  if (!parsed.ok) ctx.addIssue({ code: "custom", input: value, message: parsed.reason });
});

const cron = z
  .string()
  .regex(
    /^(\S+\s+){4}\S+$/,
    'is not a five-field cron expression (expected minute hour day-of-month month day-of-week, such as "0 7 * * MON-FRI")',
  );

const stateBackend = z
  .discriminatedUnion(
    "type",
    [
      z
        .object({
          type: z.literal("s3").describe("State in an S3 bucket, one key per stack."),
          bucket: z
            .string()
            .regex(
              /^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
              "is not an S3 bucket name (expected 3-63 lower-case letters, digits, dots or hyphens)",
            )
            .describe("Existing, versioned S3 bucket for Terraform state (create it once, see README: state bucket bootstrap)."),
          keyPrefix: z
            .string()
            .regex(
              /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/,
              "is not a key prefix (expected path segments of letters, digits, . _ -, no leading or trailing slash)",
            )
            .default("openhands-team")
            .describe("Key prefix: each stack's state is <keyPrefix>/<name>/<environment>/<stack>.tfstate. Default: openhands-team."),
          region: region.describe("Region of the state bucket, such as eu-central-1."),
          kmsKeyId: z
            .string()
            .regex(/^arn:aws/, "is not a KMS key ARN (expected arn:aws...:kms:...:key/...)")
            .optional()
            .describe("ARN of a KMS key that encrypts the state objects. Default: none (SSE-S3)."),
        })
        .strict(),
      z
        .object({
          type: z.literal("terraform-cloud").describe("State in Terraform Cloud (or Terraform Enterprise), one workspace per stack."),
          organization: z
            .string()
            .regex(/^[A-Za-z0-9_-]{1,40}$/, "is not a Terraform Cloud organization name (expected letters, digits, _ or -)")
            .describe("Terraform Cloud organization that holds the workspaces."),
          workspacePrefix: z
            .string()
            .regex(/^[A-Za-z0-9_-]{1,60}$/, "is not a workspace prefix (expected letters, digits, _ or -)")
            .describe("Workspaces are named <workspacePrefix>-<stack>, such as openhands-prod-network."),
          hostname: hostname("Terraform Cloud host")
            .default("app.terraform.io")
            .describe("Host of Terraform Cloud or of a Terraform Enterprise installation. Default: app.terraform.io."),
        })
        .strict(),
      z
        .object({
          type: z.literal("local").describe("State in local files: for trying the deployment out, not for a team."),
          directory: z
            .string()
            .min(1)
            .default("../../../terraform-state")
            .describe("Folder for state files, relative to each stack's folder in cdktf.out. Default: ../../../terraform-state."),
        })
        .strict(),
    ],
    { error: 'is not a state backend (expected type "s3", "terraform-cloud" or "local")' },
  )
  .describe('Where Terraform keeps state, one key or workspace per stack: type "s3", "terraform-cloud" or "local".');

export const DeploymentConfigSchema = z
  .object({
    name: z
      .string()
      .regex(
        /^[a-z][a-z0-9-]{1,18}[a-z0-9]$/,
        "is not a valid name (expected 3-20 lower-case letters, digits or hyphens, starting with a letter)",
      )
      .describe("Short name of the deployment, 3-20 lower-case letters, digits or hyphens; prefixes every resource name."),
    environment: z
      .string()
      .regex(/^[a-z][a-z0-9]{0,9}$/, "is not a valid environment (expected 1-10 lower-case letters or digits, starting with a letter)")
      .describe("Environment, such as prod or staging: 1-10 lower-case letters or digits."),
    region: region.describe("Main region (network, data, compute, monitoring), such as eu-central-1. The edge is always in us-east-1."),
    domain: z
      .object({
        apex: hostname("domain").describe("Registrable domain with a public Route 53 zone that holds the app host, such as example.com."),
        hostedZoneId: zoneId.describe("Id of the public Route 53 hosted zone of apex."),
        appHost: hostname("host name").describe("Host where users open OpenHands, inside apex, such as openhands.example.com."),
        runtime: z
          .object({
            domain: hostname("runtime domain").describe(
              "Sandboxes are served on <port>-<user>.<domain>: a subdomain of apex (such as runtime.example.com), or a separate " +
                "registrable domain (stronger: not same-site). Never the app host.",
            ),
            hostedZoneId: zoneId
              .optional()
              .describe(
                "Route 53 zone of a separate runtime domain; required when the runtime domain is outside apex. Default: the apex zone.",
              ),
          })
          .strict()
          .describe("Where sandboxes (the apps users run) are served, apart from the app's origin."),
      })
      .strict()
      .describe("DNS names of the deployment and their Route 53 zones."),
    network: z
      .object({
        vpcId: z
          .string()
          .regex(/^vpc-([0-9a-f]{8}|[0-9a-f]{17})$/, "is not a VPC id (expected vpc- followed by 8 or 17 hex digits)")
          .describe("Existing VPC the deployment runs in, such as vpc-0123456789abcdef0."),
        privateSubnetIds: z
          .array(
            z.string().regex(/^subnet-([0-9a-f]{8}|[0-9a-f]{17})$/, "is not a subnet id (expected subnet- followed by 8 or 17 hex digits)"),
          )
          .min(2, "lists fewer than two subnets (expected private subnets in two or more availability zones)")
          .describe("Existing private subnets with a route to the internet (NAT), in two or more availability zones."),
        vpcCidr: z
          .string()
          .regex(/^(\d{1,3}\.){3}\d{1,3}\/([8-9]|[12]\d|3[0-2])$/, "is not an IPv4 CIDR (expected a.b.c.d/n such as 10.0.0.0/16)")
          .refine(
            (v) =>
              v
                .split("/")[0]!
                .split(".")
                .every((o) => Number(o) <= 255),
            "is not an IPv4 CIDR (each of a.b.c.d must be 0-255)",
          )
          .superRefine((value, ctx) => {
            const parsed = parseCidr(value);
            // Octets over 255 are reported by the rule above.
            if (!parsed.ok && /host bits/.test(parsed.reason)) ctx.addIssue({ code: "custom", input: value, message: parsed.reason });
          })
          .describe(
            `IPv4 CIDR of the VPC, such as 10.0.0.0/16, for the endpoint security groups and the host firewall; must not overlap ` +
              `${USER_NETWORK_POOL}.`,
          ),
        flowLogs: z.boolean().default(false).describe("VPC flow logs to CloudWatch Logs. Default: false."),
        cloudFrontPrefixListId: z
          .string()
          .regex(/^pl-[0-9a-f]{8,17}$/, "is not a managed prefix list id (expected pl- followed by 8-17 hex digits)")
          .optional()
          .describe(
            "The CloudFront origin-facing managed prefix list of the main region, admitted into the ALB. Default: AWS's published " +
              "id for the region (src/config/cloudfront-prefix-lists.ts); required in a region without one.",
          ),
        vpcOriginSecurityGroupId: z
          .string()
          .regex(/^sg-([0-9a-f]{8}|[0-9a-f]{17})$/, "is not a security group id (expected sg- followed by 8 or 17 hex digits)")
          .optional()
          .describe(
            "The CloudFront-VPCOrigins-Service-SG that CloudFront creates in the VPC with the first VPC origin; when set, the ALB " +
              "also admits it (AWS's narrowest source for VPC-origin traffic). Default: none.",
          ),
        privateRouteTableIds: z
          .array(
            z.string().regex(/^rtb-([0-9a-f]{8}|[0-9a-f]{17})$/, "is not a route table id (expected rtb- followed by 8 or 17 hex digits)"),
          )
          .default([])
          .describe(
            "Route tables of the private subnets: with them an S3 gateway endpoint keeps S3 traffic off NAT. Default: [] (no " +
              "gateway endpoint, since one without route tables carries nothing; synth prints a note).",
          ),
      })
      .strict()
      .describe("The existing VPC and private subnets the deployment uses."),
    compute: z
      .object({
        mode: z
          .enum(["docker", "ecs"], { error: 'is not a compute mode (expected "docker" or "ecs")' })
          .default("docker")
          .describe(
            "Where users' OpenHands apps and sandboxes run: docker (containers on the host) or ecs (Fargate tasks in an ECS " +
              "cluster; the host keeps the proxy, spawner and LLM gateway). Default: docker.",
          ),
        instanceType: z
          .string()
          .regex(
            /^[a-z]+[0-9]+g[a-z]*\.(medium|large|xlarge|[0-9]+xlarge|metal)$/,
            "is not a Graviton instance type (expected an arm64 type such as m7g.xlarge or t4g.large)",
          )
          .default("m7g.xlarge")
          .describe("A Graviton (arm64) instance type for the host. Default: m7g.xlarge (4 vCPU, 16 GiB)."),
        minSize: z
          .number()
          .int()
          .min(0)
          .max(1, "exceeds 1 (one host holds the per-user state; scale out through ECS, see README)")
          .default(1)
          .describe("Minimum number of hosts, 0 or 1 (one host holds the per-user state). Default: 1."),
        maxSize: z
          .number()
          .int()
          .min(1)
          .max(2, "exceeds 2 (expected 1, or 2 to allow a replacement during instance refresh)")
          .default(1)
          .describe("Maximum number of hosts: 1, or 2 to allow a replacement during instance refresh. Default: 1."),
        rootVolumeGiB: z
          .number()
          .int()
          .min(20, "is below 20 GiB (expected at least 20 for AL2023 and Docker)")
          .max(500)
          .default(30)
          .describe("Root volume of the host in GiB, 20-500. Default: 30."),
        dockerVolumeGiB: z
          .number()
          .int()
          .min(30, "is below 30 GiB (expected room for the pinned images)")
          .max(4000)
          .default(100)
          .describe("Docker data volume (images and sandboxes) in GiB, 30-4000. Default: 100."),
      })
      .strict()
      .prefault({})
      .describe(
        "The host (one Graviton instance in an auto scaling group) and where users' containers run. Default: every field's default.",
      ),
    users: z
      .object({
        idleMinutes: z
          .number()
          .int()
          .min(5)
          .max(1440)
          .default(60)
          .describe("Stop a user's OpenHands after this many idle minutes, 5-1440. Default: 60."),
        maxRunningApps: z
          .number()
          .int()
          .min(1)
          .max(200)
          .default(20)
          .describe("Host-wide limit of running OpenHands apps, 1-200. Default: 20."),
        maxRunningSandboxes: z
          .number()
          .int()
          .min(1)
          .max(400)
          .default(30)
          .describe("Host-wide limit of running sandboxes, 1-400. Default: 30."),
        sandboxesPerUser: z
          .number()
          .int()
          // OpenHands pauses old sandboxes down to max - 1 before each start and raises when that is 0.
          .min(
            2,
            "is below 2 (OpenHands pauses older sandboxes down to this limit minus 1 before every start and fails when that is 0: " +
              "with 1 no sandbox ever starts)",
          )
          .max(20)
          .default(3)
          .describe(
            "Sandboxes one user may run at once (OH_SANDBOX_MAX_NUM_SANDBOXES), 2-20 (with 1, OpenHands' pause of older sandboxes " +
              "down to max - 1 fails every start). Default: 3.",
          ),
      })
      .strict()
      .prefault({})
      .describe("Limits of the per-user spawner. Default: every field's default."),
    database: z
      .object({
        engineVersion: z
          .string()
          .regex(/^16\.[0-9]+$/, "is not an Aurora PostgreSQL 16 version (expected 16.x such as 16.6)")
          .default("16.6")
          .describe(
            'Aurora PostgreSQL 16.x version a new cluster is created with; quote it ("16.6"). AWS applies later minor versions ' +
              'itself and Terraform ignores the difference, so there is no need to follow them here. Default: "16.6".',
          ),
        minCapacity: z
          .number()
          .min(0)
          .max(256)
          .refine((v) => Number.isInteger(v * 2), "is not a multiple of 0.5 ACU (expected 0, 0.5, 1, 1.5, ...)")
          .default(0)
          .describe("Minimum capacity in ACU, a multiple of 0.5; 0 lets the cluster pause when idle. Default: 0."),
        maxCapacity: z
          .number()
          .min(1, "is below 1 ACU (expected 1 to 256)")
          .max(256, "is above 256 ACU (expected 1 to 256)")
          .refine((v) => Number.isInteger(v * 2), "is not a multiple of 0.5 ACU (expected 1, 1.5, 2, ...)")
          .default(4)
          .describe("Maximum capacity in ACU, 1-256, a multiple of 0.5, at least minCapacity. Default: 4."),
        autoPauseSeconds: z
          .number()
          .int()
          .min(300, "is below 300 seconds (Aurora pauses after 5 minutes at the earliest)")
          .max(86400, "is above 86400 seconds (Aurora pauses after one day at the latest)")
          .default(600)
          .describe("Pause after this many idle seconds when minCapacity is 0, 300-86400. Default: 600."),
        backupRetentionDays: z
          .number()
          .int()
          .min(1, "is below 1 day (expected 1 to 35)")
          .max(35, "is above 35 days (Aurora keeps at most 35)")
          .default(7)
          .describe("Aurora's automated backups are kept this many days, 1-35. Default: 7."),
      })
      .strict()
      .prefault({})
      .describe("Aurora Serverless v2 PostgreSQL, one database per user. Default: every field's default."),
    backup: z
      .object({
        retentionDays: z
          .number()
          .int()
          .min(1)
          .max(3650)
          .default(35)
          .describe("AWS Backup daily recovery points of Aurora and EFS are kept this many days, 1-3650. Default: 35."),
      })
      .strict()
      .prefault({})
      .describe("AWS Backup plan of the data. Default: every field's default."),
    openhands: z
      .object({
        app: image("OpenHands app", { repository: "docker.openhands.dev/openhands/openhands", tags: "1.11.0" }).describe(
          "The OpenHands app image (repository and exact tag), such as docker.openhands.dev/openhands/openhands 1.11.0.",
        ),
        agentServer: image("agent-server", { repository: "ghcr.io/openhands/agent-server", tags: "1.34.0-python" }).describe(
          "The agent-server image the app starts for sandboxes; its tag must be the one the app version pins (1.11.0 pins " +
            "1.34.0-python, 1.7.0 pins 1.19.1-python).",
        ),
        allowUnverifiedPair: z
          .boolean()
          .default(false)
          .describe("Accept an app/agent-server pair that is not in the verified list. Default: false."),
      })
      .strict()
      .describe("The OpenHands app and agent-server images, pinned as a verified pair."),
    hostImages: z
      .object({
        openresty: image("OpenResty proxy", HOST_IMAGE_EXAMPLE)
          .default(DEFAULT_HOST_IMAGES.openresty)
          .describe(
            `OpenResty, the runtime proxy. Default: ${DEFAULT_HOST_IMAGES.openresty.repository}:${DEFAULT_HOST_IMAGES.openresty.tag}.`,
          ),
        llmGateway: image("LLM gateway", HOST_IMAGE_EXAMPLE)
          .default(DEFAULT_HOST_IMAGES.llmGateway)
          .describe(
            `LiteLLM, the LLM gateway. Default: ${DEFAULT_HOST_IMAGES.llmGateway.repository}:${DEFAULT_HOST_IMAGES.llmGateway.tag}.`,
          ),
        node: image("spawner runtime", HOST_IMAGE_EXAMPLE)
          .default(DEFAULT_HOST_IMAGES.node)
          .describe(`Node.js, the spawner's runtime. Default: ${DEFAULT_HOST_IMAGES.node.repository}:${DEFAULT_HOST_IMAGES.node.tag}.`),
      })
      .strict()
      .prefault({})
      .describe("Images of the host's own services, pinned like the OpenHands pair. Default: the pinned images, each one separately."),
    bedrock: z
      .object({
        region: region.optional().describe("Region of the Bedrock calls, such as eu-central-1. Default: the main region."),
        models: z
          .array(
            z
              .string()
              .regex(
                /^((us|eu|apac|jp|au|global)\.)?[a-z0-9-]+\.[a-z0-9.-]+(:[0-9]+)?$/,
                "is not a Bedrock model or inference profile id (expected such as eu.anthropic.claude-sonnet-4-5-20250929-v1:0)",
              ),
          )
          .min(1, "is empty (expected at least one Bedrock model id)")
          .describe("Bedrock model or inference-profile ids offered through the LLM gateway; the first is every new user's default."),
        perUser: z
          .object({
            requestsPerMinute: z
              .number()
              .int()
              .min(1)
              .max(100_000)
              .optional()
              .describe("Model calls a person may make in a minute; more get a clear 429 from the LLM gateway. Default: no limit."),
            tokensPerMinute: z
              .number()
              .int()
              .min(1)
              .max(100_000_000)
              .optional()
              .describe("Input and output tokens a person may use in a minute, counted by the LLM gateway. Default: no limit."),
            monthlySpendAlertUsd: z
              .number()
              .positive()
              .max(1_000_000)
              .multipleOf(0.01, "has more than two decimals (expected an amount in US dollars such as 50 or 12.5)")
              .optional()
              .describe("A person's estimated spend in a calendar month (UTC) that raises the llm-monthly-spend alarm. Default: no alert."),
          })
          .strict()
          .optional()
          .describe("Optional limits per person, enforced by the LLM gateway without a database. Default: none."),
      })
      .strict()
      .describe("The Bedrock models users talk to."),
    cognito: z
      .object({
        mfa: z
          .enum(["off", "optional", "required"], { error: 'is not an MFA mode (expected "off", "optional" or "required")' })
          .default("required")
          .describe("TOTP multi-factor authentication: off, optional or required. Default: required."),
        adminOnlySignUp: z.boolean().default(true).describe("Only administrators create users (no self sign-up). Default: true."),
        domainPrefix: z
          .string()
          .regex(
            /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/,
            "is not a Cognito domain prefix (expected lower-case letters, digits and hyphens)",
          )
          .refine(
            (v) => !/aws|amazon|cognito/.test(v),
            "contains a reserved word (Cognito refuses aws, amazon and cognito in domain prefixes)",
          )
          .describe(
            "Prefix of the Cognito login domain <prefix>.auth.us-east-1.amazoncognito.com; lower-case letters, digits and hyphens, " +
              "without aws, amazon or cognito.",
          ),
        tokenMinutes: z
          .number()
          .int()
          .min(5, "is below 5 minutes (Cognito allows 5 minutes to 1 day)")
          .max(1440, "is above 1440 minutes (Cognito allows 5 minutes to 1 day)")
          .default(60)
          .describe("Lifetime of the access and ID tokens in minutes, 5-1440. Default: 60."),
        refreshTokenDays: z
          .number()
          .int()
          .min(1)
          .max(3650)
          .default(30)
          .describe("Lifetime of the refresh token in days, 1-3650. Default: 30."),
        displayName: z
          .string()
          .regex(/^[A-Za-z0-9 .-]{1,32}$/, "is not a display name (expected 1-32 letters, digits, spaces, dots or hyphens)")
          .optional()
          .describe(
            "Name on the Cognito login page (its logo, drawn upper case), so people " +
              "recognise where they sign in. Default: OpenHands <name>.",
          ),
        customDomain: hostname("login host name")
          .optional()
          .describe(
            "Own login host inside apex (such as login.example.com) instead of the prefix domain; Cognito requires an A record on " +
              "its parent domain. Default: none (<domainPrefix>.auth.us-east-1.amazoncognito.com).",
          ),
      })
      .strict()
      .describe("The Cognito user pool users sign in with."),
    edge: z
      .object({
        rateLimitPer5Minutes: z
          .number()
          .int()
          .min(100, "is below 100 (WAF rate-based rules allow 100 or more)")
          .max(2_000_000_000)
          .default(2000)
          .describe("Requests per client IP per 5 minutes before the WAF blocks it, 100 or more. Default: 2000."),
        allowedCidrs: z
          .array(allowedCidr)
          .default([])
          .describe(
            "If set, only these IPv4/IPv6 CIDRs reach the app (no /0, network addresses only). With IPv4 ranges only, the app is " +
              "served over IPv4 only: a dual-stack browser in an allowed office would otherwise arrive over IPv6 and be blocked. " +
              "Default: [] (everyone).",
          ),
        accessLogs: z.boolean().default(false).describe("CloudFront access logs and WAF request logs to CloudWatch Logs. Default: false."),
        priceClass: z
          .enum(["PriceClass_100", "PriceClass_200", "PriceClass_All"])
          .default("PriceClass_100")
          .describe("CloudFront price class: the edge locations that serve users. Default: PriceClass_100."),
      })
      .strict()
      .prefault({})
      .describe("CloudFront, WAF and Lambda@Edge in front of the app. Default: every field's default."),
    monitoring: z
      .object({
        alarmEmail: z
          .email("is not an e-mail address (expected such as ops@example.com)")
          .optional()
          .describe("Alarm notifications go to this address (an SNS e-mail subscription). Default: none."),
        logRetentionDays: z
          .number()
          .refine(
            (v) => (LOG_RETENTION_DAYS as readonly number[]).includes(v),
            `is not a CloudWatch retention (expected one of ${LOG_RETENTION_DAYS.join(", ")})`,
          )
          .default(30)
          .describe(`CloudWatch Logs retention in days, one of ${LOG_RETENTION_DAYS.join(", ")}. Default: 30.`),
      })
      .strict()
      .prefault({})
      .describe("Alarms, dashboard and log retention. Default: every field's default."),
    cost: z
      .object({
        officeHours: z
          .object({
            timeZone: z
              .string()
              .regex(/^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)+$|^UTC$/, "is not an IANA time zone (expected such as Europe/Berlin or UTC)")
              .describe("IANA time zone of the schedule, such as Europe/Berlin or UTC."),
            start: cron.describe('When the host starts: a five-field cron expression, such as "0 7 * * MON-FRI".'),
            stop: cron.describe('When the host stops: a five-field cron expression, such as "0 20 * * MON-FRI".'),
          })
          .strict()
          .optional()
          .describe("Stop the host outside office hours (scheduled actions of the auto scaling group). Default: none (always on)."),
        interfaceEndpoints: z
          .boolean()
          .default(false)
          .describe(
            "Interface endpoints of the AWS APIs the host calls (Bedrock runtime, Secrets Manager, SSM, Logs), about $7 a month " +
              "each per AZ. Default: false.",
          ),
      })
      .strict()
      .prefault({})
      .describe("Switches that trade cost for availability or isolation. Default: every field's default."),
    stateBackend,
    tags: z
      .record(
        z
          .string()
          .regex(/^(?!aws:)[\p{L}\p{N}\s_.:/=+\-@]{1,128}$/u, "is not a tag key (expected 1-128 characters, not starting with aws:)"),
        z.string().max(256, "is longer than 256 characters (tag values allow 256)"),
      )
      .default({})
      .describe("Tags on every resource: keys of 1-128 characters not starting with aws:, values of up to 256. Default: {}."),
  })
  .strict()
  .superRefine((c, ctx) => {
    const under = (host: string, parent: string) => host === parent || host.endsWith(`.${parent}`);
    if (!under(c.domain.appHost, c.domain.apex)) {
      ctx.addIssue({
        code: "custom",
        path: ["domain", "appHost"],
        input: c.domain.appHost,
        message: `is not in the apex domain ${c.domain.apex} (expected a host such as openhands.${c.domain.apex})`,
      });
    }
    const rt = c.domain.runtime.domain;
    if (rt === c.domain.apex || under(c.domain.appHost, rt) || rt === c.domain.appHost) {
      ctx.addIssue({
        code: "custom",
        path: ["domain", "runtime", "domain"],
        input: rt,
        message:
          `overlaps the app host ${c.domain.appHost} (sandbox content must never share the app origin; expected such as ` +
          `runtime.${c.domain.apex})`,
      });
    }
    if (!under(rt, c.domain.apex) && !c.domain.runtime.hostedZoneId) {
      ctx.addIssue({
        code: "custom",
        path: ["domain", "runtime", "hostedZoneId"],
        input: undefined,
        message: `is missing: the runtime domain ${rt} is outside ${c.domain.apex} (expected the Route 53 zone id of ${rt})`,
      });
    }
    // A malformed host is already reported by its own rule.
    const login = c.cognito.customDomain && HOSTNAME.test(c.cognito.customDomain) ? c.cognito.customDomain : undefined;
    if (login && (!under(login, c.domain.apex) || login === c.domain.apex)) {
      ctx.addIssue({
        code: "custom",
        path: ["cognito", "customDomain"],
        input: login,
        message:
          `is not a host inside the apex domain ${c.domain.apex} (expected such as login.${c.domain.apex}; its certificate and ` +
          `record go to the apex zone)`,
      });
    } else if (login && (login === c.domain.appHost || under(login, rt))) {
      ctx.addIssue({
        code: "custom",
        path: ["cognito", "customDomain"],
        input: login,
        message: `collides with the app host or the runtime domain (expected a host of its own, such as login.${c.domain.apex})`,
      });
    }
    const vpc = parseCidr(c.network.vpcCidr);
    const pool = parseCidr(USER_NETWORK_POOL);
    if (vpc.ok && pool.ok && cidrsOverlap(vpc.cidr, pool.cidr)) {
      ctx.addIssue({
        code: "custom",
        path: ["network", "vpcCidr"],
        input: c.network.vpcCidr,
        message:
          `overlaps ${USER_NETWORK_POOL}, the host's per-user Docker networks (the host could not reach that part of the VPC; ` +
          `expected a VPC outside ${USER_NETWORK_POOL})`,
      });
    }
    if (new Set(c.network.privateSubnetIds).size !== c.network.privateSubnetIds.length) {
      ctx.addIssue({
        code: "custom",
        path: ["network", "privateSubnetIds"],
        input: c.network.privateSubnetIds,
        message: "lists a subnet twice (expected distinct subnets in different availability zones)",
      });
    }
    if (c.compute.maxSize < c.compute.minSize) {
      ctx.addIssue({
        code: "custom",
        path: ["compute", "maxSize"],
        input: c.compute.maxSize,
        message: `is below compute.minSize ${c.compute.minSize} (expected maxSize >= minSize)`,
      });
    }
    if (c.database.maxCapacity < c.database.minCapacity) {
      ctx.addIssue({
        code: "custom",
        path: ["database", "maxCapacity"],
        input: c.database.maxCapacity,
        message: `is below database.minCapacity ${c.database.minCapacity} (expected maxCapacity >= minCapacity)`,
      });
    }
    const expectedAgent = VERIFIED_OPENHANDS_PAIRS[c.openhands.app.tag];
    if (!c.openhands.allowUnverifiedPair && expectedAgent !== c.openhands.agentServer.tag && PINNED_TAG.test(c.openhands.app.tag)) {
      ctx.addIssue({
        code: "custom",
        path: ["openhands", "agentServer", "tag"],
        input: c.openhands.agentServer.tag,
        message: expectedAgent
          ? `does not pair with OpenHands ${c.openhands.app.tag} (expected ${expectedAgent}, the agent-server that app version pins; ` +
            `or set openhands.allowUnverifiedPair: true)`
          : `pairs with an unverified OpenHands version ${c.openhands.app.tag} (verified: ${Object.entries(VERIFIED_OPENHANDS_PAIRS)
              .map(([a, s]) => `${a} with ${s}`)
              .join(", ")}; or set openhands.allowUnverifiedPair: true)`,
      });
    }
    // From 1.9.1 the app replaces AGENT_SERVER_IMAGE_TAG with its bundled SDK version when the repository is the
    // default one, so a mismatched pair would ask for an image the Docker filter refuses and no sandbox would start.
    const appVersion = openhandsAppVersion(c.openhands.app.tag);
    const rewritesTag =
      appVersion !== undefined &&
      (appVersion[0] > 1 || (appVersion[0] === 1 && (appVersion[1] > 9 || (appVersion[1] === 9 && appVersion[2] >= 1))));
    if (
      c.openhands.allowUnverifiedPair &&
      rewritesTag &&
      c.openhands.agentServer.repository === DEFAULT_AGENT_SERVER_REPOSITORY &&
      expectedAgent !== c.openhands.agentServer.tag
    ) {
      ctx.addIssue({
        code: "custom",
        path: ["openhands", "allowUnverifiedPair"],
        input: true,
        message:
          `cannot pair OpenHands ${c.openhands.app.tag} with ${DEFAULT_AGENT_SERVER_REPOSITORY}:${c.openhands.agentServer.tag}: from ` +
          `1.9.1 the app replaces the agent-server tag with the version it bundles when the repository is ` +
          `${DEFAULT_AGENT_SERVER_REPOSITORY}, so it would ask for an image the host refuses and no sandbox would start (expected ` +
          `the pinned pair, or the agent-server image copied to a repository of your own)`,
      });
    }
    // A malformed region is already reported by its own rule.
    if (REGION.test(c.region) && !c.network.cloudFrontPrefixListId && !CLOUDFRONT_ORIGIN_FACING_PREFIX_LISTS[c.region]) {
      ctx.addIssue({
        code: "custom",
        path: ["network", "cloudFrontPrefixListId"],
        input: undefined,
        message:
          `is missing: no published CloudFront origin-facing prefix list is known for ${c.region} (expected the id of ` +
          `com.amazonaws.global.cloudfront.origin-facing in that region, from aws ec2 describe-managed-prefix-lists)`,
      });
    }
    const oh = c.cost.officeHours;
    if (oh && oh.start === oh.stop) {
      ctx.addIssue({
        code: "custom",
        path: ["cost", "officeHours", "stop"],
        input: oh.stop,
        message: "equals cost.officeHours.start (expected a stop time different from the start time)",
      });
    }
  });

/** Input as written in the file (defaults optional). */
export type DeploymentConfigInput = z.input<typeof DeploymentConfigSchema>;
/** The validated configuration, defaults applied. */
export type DeploymentConfig = z.output<typeof DeploymentConfigSchema>;
