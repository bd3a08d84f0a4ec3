import { z } from "zod";
import { CLOUDFRONT_ORIGIN_FACING_PREFIX_LISTS } from "./cloudfront-prefix-lists";
import { cidrsOverlap, parseCidr } from "./cidr";

/**
 * The deployment configuration: one file, validated once, read by every stack.
 *
 * Each refinement message is written to follow `config.<field>: <value>` and says what the value
 * should be, so that the formatted error names the field, the bad value and the fix.
 */

const HOSTNAME = /^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const hostname = (what: string) =>
  z
    .string()
    .regex(HOSTNAME, `is not a ${what} (expected a lower-case DNS name such as openhands.example.com)`);

const REGION = /^(us|eu|ap|ca|sa|me|af|il|mx)-(north|south|east|west|central|northeast|southeast|northwest|southwest)-[1-9]$/;
const region = z.string().regex(REGION, "is not an AWS region (expected a region code such as eu-central-1)");

const zoneId = z
  .string()
  .regex(/^Z[A-Z0-9]{10,32}$/, "is not a Route 53 zone id (expected Z followed by 10-32 upper-case letters or digits)");

/** Verified pairs: the app image pins its agent-server (openhands/app_server/sandbox/sandbox_spec_service.py). */
export const VERIFIED_OPENHANDS_PAIRS: Readonly<Record<string, string>> = {
  "1.7.0": "1.19.1-python",
};

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
      /** Registry and repository, without a tag. */
      repository: z
        .string()
        .regex(IMAGE_REPOSITORY, `is not an image repository for the ${what} (expected registry/path without a tag, such as ${example.repository})`),
      /** An exact version tag. */
      tag: z.string().regex(PINNED_TAG, `is not a pinned tag for the ${what} (expected an exact version such as ${example.tags}, never latest)`),
      /** Optional content digest to pin the exact image. @default none */
      digest: z
        .string()
        .regex(/^sha256:[0-9a-f]{64}$/, "is not an image digest (expected sha256: followed by 64 hex digits)")
        .optional(),
    })
    .strict();
const HOST_IMAGE_EXAMPLE = { repository: "docker.io/library/node", tags: "1.27.1.2-alpine or v1.74.9-stable" };

/** Pinned defaults of the host's own services; check them against the registries when upgrading. */
export const DEFAULT_HOST_IMAGES = {
  openresty: { repository: "docker.io/openresty/openresty", tag: "1.27.1.2-alpine" },
  llmGateway: { repository: "ghcr.io/berriai/litellm", tag: "v1.74.9-stable" },
  node: { repository: "docker.io/library/node", tag: "20.19.5-bookworm-slim" },
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

const stateBackend = z.discriminatedUnion(
  "type",
  [
    z
      .object({
        type: z.literal("s3"),
        /** Existing, versioned S3 bucket for Terraform state (create it once, see README). */
        bucket: z
          .string()
          .regex(/^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "is not an S3 bucket name (expected 3-63 lower-case letters, digits, dots or hyphens)"),
        /** Key prefix; each stack's state is `<keyPrefix>/<name>/<environment>/<stack>.tfstate`. @default "openhands-team" */
        keyPrefix: z
          .string()
          .regex(/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/, "is not a key prefix (expected path segments of letters, digits, . _ -, no leading or trailing slash)")
          .default("openhands-team"),
        region,
        /** Optional KMS key for state encryption. @default SSE-S3 */
        kmsKeyId: z.string().startsWith("arn:aws", "is not a KMS key ARN (expected arn:aws...:kms:...:key/...)").optional(),
      })
      .strict(),
    z
      .object({
        type: z.literal("terraform-cloud"),
        organization: z
          .string()
          .regex(/^[A-Za-z0-9_-]{1,40}$/, "is not a Terraform Cloud organization name (expected letters, digits, _ or -)"),
        /** Workspaces are named `<workspacePrefix>-<stack>`. */
        workspacePrefix: z
          .string()
          .regex(/^[A-Za-z0-9_-]{1,60}$/, "is not a workspace prefix (expected letters, digits, _ or -)"),
        /** @default "app.terraform.io" */
        hostname: hostname("Terraform Cloud host").default("app.terraform.io"),
      })
      .strict(),
    z
      .object({
        type: z.literal("local"),
        /** Folder for state files, relative to each stack's folder in cdktf.out. @default "../../../terraform-state" */
        directory: z.string().min(1).default("../../../terraform-state"),
      })
      .strict(),
  ],
  { error: 'is not a state backend (expected type "s3", "terraform-cloud" or "local")' },
);

export const DeploymentConfigSchema = z
  .object({
    /** Short name, used in resource names. */
    name: z
      .string()
      .regex(/^[a-z][a-z0-9-]{1,18}[a-z0-9]$/, "is not a valid name (expected 3-20 lower-case letters, digits or hyphens, starting with a letter)"),
    /** Environment, such as prod or staging. */
    environment: z
      .string()
      .regex(/^[a-z][a-z0-9]{0,9}$/, "is not a valid environment (expected 1-10 lower-case letters or digits, starting with a letter)"),
    /** Main region: network, data, compute, monitoring. The edge is always in us-east-1. */
    region,
    domain: z
      .object({
        /** Registrable domain that holds the app host. */
        apex: hostname("domain"),
        /** Public hosted zone of `apex`. */
        hostedZoneId: zoneId,
        /** Host of the OpenHands app. */
        appHost: hostname("host name"),
        runtime: z
          .object({
            /** Sandboxes are served on `<port>-<user>.<domain>`; a subdomain of apex, or a separate registrable domain. */
            domain: hostname("runtime domain"),
            /** Zone of a separate runtime domain. @default the apex zone when the runtime domain is under apex */
            hostedZoneId: zoneId.optional(),
          })
          .strict(),
      })
      .strict(),
    network: z
      .object({
        /** Existing VPC. */
        vpcId: z.string().regex(/^vpc-([0-9a-f]{8}|[0-9a-f]{17})$/, "is not a VPC id (expected vpc- followed by 8 or 17 hex digits)"),
        /** Existing private subnets with a route to the internet (NAT), in two or more availability zones. */
        privateSubnetIds: z
          .array(z.string().regex(/^subnet-([0-9a-f]{8}|[0-9a-f]{17})$/, "is not a subnet id (expected subnet- followed by 8 or 17 hex digits)"))
          .min(2, "lists fewer than two subnets (expected private subnets in two or more availability zones)"),
        /** IPv4 CIDR of the VPC, for endpoint security groups. */
        vpcCidr: z
          .string()
          .regex(/^(\d{1,3}\.){3}\d{1,3}\/([8-9]|[12]\d|3[0-2])$/, "is not an IPv4 CIDR (expected a.b.c.d/n such as 10.0.0.0/16)")
          .refine((v) => v.split("/")[0]!.split(".").every((o) => Number(o) <= 255), "is not an IPv4 CIDR (each of a.b.c.d must be 0-255)")
          .superRefine((value, ctx) => {
            const parsed = parseCidr(value);
            // Octets over 255 are reported by the rule above.
            if (!parsed.ok && /host bits/.test(parsed.reason)) ctx.addIssue({ code: "custom", input: value, message: parsed.reason });
          }),
        /** VPC flow logs to CloudWatch Logs. @default false */
        flowLogs: z.boolean().default(false),
        /**
         * The CloudFront origin-facing managed prefix list of the main region, allowed into the ALB.
         * @default the published id for the region (see src/config/cloudfront-prefix-lists.ts)
         */
        cloudFrontPrefixListId: z
          .string()
          .regex(/^pl-[0-9a-f]{8,17}$/, "is not a managed prefix list id (expected pl- followed by 8-17 hex digits)")
          .optional(),
        /**
         * The `CloudFront-VPCOrigins-Service-SG` that CloudFront creates in the VPC with the first VPC origin;
         * when set, the ALB also admits it (AWS's narrowest source for VPC-origin traffic). @default none
         */
        vpcOriginSecurityGroupId: z
          .string()
          .regex(/^sg-([0-9a-f]{8}|[0-9a-f]{17})$/, "is not a security group id (expected sg- followed by 8 or 17 hex digits)")
          .optional(),
        /**
         * Route tables of the private subnets: with them an S3 gateway endpoint keeps S3 traffic off NAT.
         * @default [] (no gateway endpoint, since one without route tables carries nothing; synth prints a note)
         */
        privateRouteTableIds: z
          .array(z.string().regex(/^rtb-([0-9a-f]{8}|[0-9a-f]{17})$/, "is not a route table id (expected rtb- followed by 8 or 17 hex digits)"))
          .default([]),
      })
      .strict(),
    compute: z
      .object({
        /** A Graviton (arm64) instance type. @default "m7g.xlarge" */
        instanceType: z
          .string()
          .regex(/^[a-z]+[0-9]+g[a-z]*\.(medium|large|xlarge|[0-9]+xlarge|metal)$/, "is not a Graviton instance type (expected an arm64 type such as m7g.xlarge or t4g.large)")
          .default("m7g.xlarge"),
        /** @default 1 */
        minSize: z.number().int().min(0).max(1, "exceeds 1 (one host holds the per-user state; scale out through ECS, see README)").default(1),
        /** @default 1 */
        maxSize: z.number().int().min(1).max(2, "exceeds 2 (expected 1, or 2 to allow a replacement during instance refresh)").default(1),
        /** Root volume in GiB. @default 30 */
        rootVolumeGiB: z.number().int().min(20, "is below 20 GiB (expected at least 20 for AL2023 and Docker)").max(500).default(30),
        /** Docker data volume (images, sandboxes) in GiB. @default 100 */
        dockerVolumeGiB: z.number().int().min(30, "is below 30 GiB (expected room for the pinned images)").max(4000).default(100),
      })
      .strict()
      .prefault({}),
    users: z
      .object({
        /** Stop a user's OpenHands after this many idle minutes. @default 60 */
        idleMinutes: z.number().int().min(5).max(1440).default(60),
        /** Host-wide limit of running apps. @default 20 */
        maxRunningApps: z.number().int().min(1).max(200).default(20),
        /** Host-wide limit of running sandboxes. @default 30 */
        maxRunningSandboxes: z.number().int().min(1).max(400).default(30),
        /** Per-user sandbox quota (OH_SANDBOX_MAX_NUM_SANDBOXES). @default 3 */
        sandboxesPerUser: z.number().int().min(1).max(20).default(3),
      })
      .strict()
      .prefault({}),
    database: z
      .object({
        /**
         * Aurora PostgreSQL 16.x version a new cluster is created with. AWS applies later minor versions itself (automatic
         * minor upgrades) and Terraform ignores the difference (`ignore_changes`), so there is no need to follow them here.
         * @default "16.6"
         */
        engineVersion: z.string().regex(/^16\.[0-9]+$/, "is not an Aurora PostgreSQL 16 version (expected 16.x such as 16.6)").default("16.6"),
        /** Minimum ACU; 0 lets the cluster pause. @default 0 */
        minCapacity: z
          .number()
          .min(0)
          .max(256)
          .refine((v) => Number.isInteger(v * 2), "is not a multiple of 0.5 ACU (expected 0, 0.5, 1, 1.5, ...)")
          .default(0),
        /** Maximum ACU. @default 4 */
        maxCapacity: z
          .number()
          .min(1, "is below 1 ACU (expected 1 to 256)")
          .max(256, "is above 256 ACU (expected 1 to 256)")
          .refine((v) => Number.isInteger(v * 2), "is not a multiple of 0.5 ACU (expected 1, 1.5, 2, ...)")
          .default(4),
        /** Pause after this many idle seconds when minCapacity is 0. @default 600 */
        autoPauseSeconds: z
          .number()
          .int()
          .min(300, "is below 300 seconds (Aurora pauses after 5 minutes at the earliest)")
          .max(86400, "is above 86400 seconds (Aurora pauses after one day at the latest)")
          .default(600),
        /** Automated backup retention in days. @default 7 */
        backupRetentionDays: z.number().int().min(1, "is below 1 day (expected 1 to 35)").max(35, "is above 35 days (Aurora keeps at most 35)").default(7),
      })
      .strict()
      .prefault({}),
    backup: z
      .object({
        /** AWS Backup daily recovery points for Aurora and EFS, kept this many days. @default 35 */
        retentionDays: z.number().int().min(1).max(3650).default(35),
      })
      .strict()
      .prefault({}),
    openhands: z
      .object({
        app: image("OpenHands app", { repository: "ghcr.io/openhands/agent-server", tags: "1.7.0" }),
        agentServer: image("agent-server", { repository: "ghcr.io/openhands/agent-server", tags: "1.7.0" }),
        /** Accept an app/agent-server pair not in the verified list. @default false */
        allowUnverifiedPair: z.boolean().default(false),
      })
      .strict(),
    /** Images of the host's own services, pinned like the OpenHands pair. @default DEFAULT_HOST_IMAGES, each one separately */
    hostImages: z
      .object({
        /** OpenResty, the runtime proxy. */
        openresty: image("OpenResty proxy", HOST_IMAGE_EXAMPLE).default(DEFAULT_HOST_IMAGES.openresty),
        /** LiteLLM, the LLM gateway. */
        llmGateway: image("LLM gateway", HOST_IMAGE_EXAMPLE).default(DEFAULT_HOST_IMAGES.llmGateway),
        /** Node.js, the spawner's runtime. */
        node: image("spawner runtime", HOST_IMAGE_EXAMPLE).default(DEFAULT_HOST_IMAGES.node),
      })
      .strict()
      .prefault({}),
    bedrock: z
      .object({
        /** Region of Bedrock calls. @default the main region */
        region: region.optional(),
        /** Model or inference-profile ids offered through the LLM gateway; the first is the default. */
        models: z
          .array(
            z
              .string()
              .regex(
                /^((us|eu|apac|jp|au|global)\.)?[a-z0-9-]+\.[a-z0-9.-]+(:[0-9]+)?$/,
                "is not a Bedrock model or inference profile id (expected such as eu.anthropic.claude-sonnet-4-5-20250929-v1:0)",
              ),
          )
          .min(1, "is empty (expected at least one Bedrock model id)"),
      })
      .strict(),
    cognito: z
      .object({
        /** TOTP MFA: off, optional or required. @default "required" */
        mfa: z.enum(["off", "optional", "required"], { error: 'is not an MFA mode (expected "off", "optional" or "required")' }).default("required"),
        /** Only administrators create users. @default true */
        adminOnlySignUp: z.boolean().default(true),
        /** Prefix of the Cognito login domain (`<prefix>.auth.<region>.amazoncognito.com`). */
        domainPrefix: z
          .string()
          .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, "is not a Cognito domain prefix (expected lower-case letters, digits and hyphens)")
          .refine((v) => !/aws|amazon|cognito/.test(v), "contains a reserved word (Cognito refuses aws, amazon and cognito in domain prefixes)"),
        /** Access and ID token lifetime in minutes. @default 60 */
        tokenMinutes: z.number().int().min(5, "is below 5 minutes (Cognito allows 5 minutes to 1 day)").max(1440, "is above 1440 minutes (Cognito allows 5 minutes to 1 day)").default(60),
        /** Refresh token lifetime in days. @default 30 */
        refreshTokenDays: z.number().int().min(1).max(3650).default(30),
        /**
         * Custom login domain inside the apex (such as login.example.com) instead of the prefix domain.
         * Cognito requires an A record on its parent domain. @default none: `<domainPrefix>.auth.us-east-1.amazoncognito.com`
         */
        customDomain: hostname("login host name").optional(),
      })
      .strict(),
    edge: z
      .object({
        /** Requests per IP per 5 minutes before WAF blocks. @default 2000 */
        rateLimitPer5Minutes: z.number().int().min(100, "is below 100 (WAF rate-based rules allow 100 or more)").max(2_000_000_000).default(2000),
        /**
         * If set, only these IPv4/IPv6 CIDRs reach the app (one WAF IP set per address family). With IPv4 ranges only,
         * the distributions serve IPv4 only (no IPv6, no AAAA records): a dual-stack browser in an allowed office would
         * otherwise arrive over IPv6 and be blocked. @default [] (everyone)
         */
        allowedCidrs: z.array(allowedCidr).default([]),
        /** CloudFront access logs and WAF request logs to CloudWatch Logs. @default false */
        accessLogs: z.boolean().default(false),
        /** CloudFront price class. @default "PriceClass_100" */
        priceClass: z.enum(["PriceClass_100", "PriceClass_200", "PriceClass_All"]).default("PriceClass_100"),
      })
      .strict()
      .prefault({}),
    monitoring: z
      .object({
        /** Alarm notifications to this address. @default none */
        alarmEmail: z.email("is not an e-mail address (expected such as ops@example.com)").optional(),
        /** CloudWatch Logs retention in days. @default 30 */
        logRetentionDays: z
          .number()
          .refine((v) => (LOG_RETENTION_DAYS as readonly number[]).includes(v), `is not a CloudWatch retention (expected one of ${LOG_RETENTION_DAYS.join(", ")})`)
          .default(30),
      })
      .strict()
      .prefault({}),
    cost: z
      .object({
        /** Stop the host outside office hours (ASG scheduled actions). @default disabled */
        officeHours: z
          .object({
            /** IANA time zone of the schedule, such as Europe/Berlin. */
            timeZone: z.string().regex(/^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)+$|^UTC$/, "is not an IANA time zone (expected such as Europe/Berlin or UTC)"),
            /** When the host starts. */
            start: cron,
            /** When the host stops. */
            stop: cron,
          })
          .strict()
          .optional(),
        /** Interface endpoints of the AWS APIs the host calls (Bedrock runtime, Secrets Manager, SSM, Logs). @default false */
        interfaceEndpoints: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    stateBackend,
    /** Tags on every resource. @default {} */
    tags: z
      .record(
        z
          .string()
          .regex(/^(?!aws:)[\p{L}\p{N}\s_.:/=+\-@]{1,128}$/u, "is not a tag key (expected 1-128 characters, not starting with aws:)"),
        z.string().max(256, "is longer than 256 characters (tag values allow 256)"),
      )
      .default({}),
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
        message: `overlaps the app host ${c.domain.appHost} (sandbox content must never share the app origin; expected such as runtime.${c.domain.apex})`,
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
        message: `is not a host inside the apex domain ${c.domain.apex} (expected such as login.${c.domain.apex}; its certificate and record go to the apex zone)`,
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
        message: `overlaps ${USER_NETWORK_POOL}, the host's per-user Docker networks (the host could not reach that part of the VPC; expected a VPC outside ${USER_NETWORK_POOL})`,
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
          ? `does not pair with OpenHands ${c.openhands.app.tag} (expected ${expectedAgent}, the agent-server that app version pins; or set openhands.allowUnverifiedPair: true)`
          : `pairs with an unverified OpenHands version ${c.openhands.app.tag} (verified: ${Object.entries(VERIFIED_OPENHANDS_PAIRS)
              .map(([a, s]) => `${a} with ${s}`)
              .join(", ")}; or set openhands.allowUnverifiedPair: true)`,
      });
    }
    // A malformed region is already reported by its own rule.
    if (REGION.test(c.region) && !c.network.cloudFrontPrefixListId && !CLOUDFRONT_ORIGIN_FACING_PREFIX_LISTS[c.region]) {
      ctx.addIssue({
        code: "custom",
        path: ["network", "cloudFrontPrefixListId"],
        input: undefined,
        message: `is missing: no published CloudFront origin-facing prefix list is known for ${c.region} (expected the id of com.amazonaws.global.cloudfront.origin-facing in that region, from aws ec2 describe-managed-prefix-lists)`,
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
