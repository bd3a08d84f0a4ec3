/**
 * The spawner's configuration: one JSON document, validated here and nowhere else.
 *
 * Sources, first match wins: `--config <file>` on the command line, `SPAWNER_CONFIG_FILE` (a path),
 * `SPAWNER_CONFIG_JSON` (the document itself). Any secret may be given inline or as `{"file": "/path"}`
 * so that the host can keep each secret in its own root-only file.
 */
import { readFileSync } from "node:fs";
import { isAbsolute } from "node:path";
import { z } from "zod";
import { openhandsVersion } from "./app-environment";
import type { DatabaseTls } from "./database";
import { fargateSizeProblem } from "./ecs/task-definition-size";

const secretSchema = z.union([z.string().min(1), z.object({ file: z.string().refine(isAbsolute, "must be an absolute path") }).strict()]);

const imageRef = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._\-/:]*:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, "must be <repository>:<tag> (a tag, not only a digest)");

const hostName = z
  .string()
  .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/, "must be a lower-case DNS name");

const iamRoleArn = z
  .string()
  .regex(
    /^arn:aws(-[a-z]+)*:iam::\d{12}:role\/[A-Za-z0-9+=,.@_/-]{1,512}$/,
    "must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)",
  );

/** An RFC 1918 address: the host as tasks in the VPC reach it (never loopback, never public). */
const privateIpv4 = z
  .string()
  .regex(
    /^(10\.\d{1,3}|172\.(1[6-9]|2\d|3[01])|192\.168)\.\d{1,3}\.\d{1,3}$/,
    "must be the host's private IPv4 address in the VPC (10.x, 172.16-31.x or 192.168.x)",
  )
  .refine((value) => value.split(".").every((part) => Number(part) <= 255), "has an octet above 255");

const awsEndpoint = z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional();

/**
 * ECS mode's per-user AWS resources, named as the infra's compute stack output `ecs` names them (docs/ecs.md,
 * section 4): the host role may create sandbox roles only under `sandboxRolePath` with `sandboxRoleBoundaryArn`, app
 * roles only under `appRolePath` with `appRoleBoundaryArn`, access points only tagged with `deployment`, and secrets only
 * under `userSecretPrefix`.
 */
const iamPolicyArn = z
  .string()
  .regex(
    /^arn:aws(-[a-z]+)*:iam::\d{12}:policy\/[A-Za-z0-9+=,.@_/-]{1,512}$/,
    "must be an IAM policy ARN (arn:aws:iam::<account>:policy/<name>)",
  );
const iamPath = z
  .string()
  .max(512)
  .regex(/^(\/|\/[\u0021-\u007E]+\/)$/, "must be an IAM path: / or /<path>/");

const userResourcesSchema = z
  .object({
    /** `<name>-<environment>` of the deployment: the access points' tag, and part of every sandbox role name. */
    deployment: z
      .string()
      .regex(
        /^[a-z][a-z0-9-]{1,38}[a-z0-9]$/,
        "must be the deployment's <name>-<environment> (3-40 lower-case letters, digits or hyphens; a sandbox role name holds it)",
      ),
    /** `sandbox_role_boundary_arn`: the permissions boundary every sandbox role is created with. */
    sandboxRoleBoundaryArn: iamPolicyArn,
    /** `sandbox_role_path`: the IAM path of the sandbox roles. */
    sandboxRolePath: iamPath.default("/oh-sandbox/"),
    /** `app_role_boundary_arn`: the permissions boundary every app role is created with. */
    appRoleBoundaryArn: iamPolicyArn,
    /** `app_role_path`: the IAM path of the app roles. */
    appRolePath: iamPath.default("/oh-app/"),
    /** `user_secret_prefix`: the Secrets Manager name prefix the execution role may read, ending in "/". */
    userSecretPrefix: z
      .string()
      .max(400)
      .regex(/^[A-Za-z0-9/_+=.@-]+\/$/, "must be a Secrets Manager name prefix ending in / (such as openhands/prod/users/)"),
    /** Other endpoints than the region's (the stand-in in tests). */
    endpoints: z.object({ efs: awsEndpoint, iam: awsEndpoint, secretsManager: awsEndpoint }).strict().optional(),
    /** How long a first start waits for a new access point to become available (EFS creates them asynchronously). */
    accessPointWaitMs: z.number().int().min(1_000).max(600_000).default(60_000),
    /**
     * IAM is eventually consistent: for seconds after CreateRole, ECS may be unable to assume a new role and the task
     * fails to start. No app or sandbox is run on a role younger than this (its CreateDate, so a restart keeps it).
     */
    roleSettleMs: z.number().int().min(0).max(120_000).default(10_000),
  })
  .strict();

/**
 * ECS mode (docs/ecs.md, section 3): where users' apps run as Fargate tasks. The first seven fields are the
 * `EcsPlacement` of src/ecs/client.ts; the rest are the app task's own settings.
 */
const ecsSchema = z
  .object({
    /** The region of the cluster. Default: `region`. */
    region: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, "must be an AWS region such as eu-central-1")
      .optional(),
    cluster: z
      .string()
      .regex(
        /^([A-Za-z0-9_-]{1,255}|arn:aws(-[a-z]+)*:ecs:[a-z0-9-]+:\d{12}:cluster\/[A-Za-z0-9_-]{1,255})$/,
        "must be an ECS cluster name or ARN",
      ),
    subnets: z
      .array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, "must be a subnet ID (subnet- and 8 to 17 hex digits)"))
      .min(1, "must name at least one private subnet")
      .max(16, "may name at most 16 subnets (RunTask's limit)"),
    appSecurityGroup: z.string().regex(/^sg-[0-9a-f]{8,17}$/, "must be a security group ID (sg- and 8 to 17 hex digits)"),
    sandboxSecurityGroup: z.string().regex(/^sg-[0-9a-f]{8,17}$/, "must be a security group ID (sg- and 8 to 17 hex digits)"),
    executionRoleArn: iamRoleArn,
    /** Another ECS endpoint than the region's (the stand-in in tests). */
    endpoint: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional(),
    /** The app image as ECS pulls it (ECR). Default: `images.app`. */
    appImage: imageRef.optional(),
    /** Task size, a pair from the Fargate size table (checked below). */
    appCpu: z.number().int().default(1024),
    appMemoryMiB: z.number().int().default(2048),
    /** The EFS file system holding the users' folders (their app access points are on it). */
    efsFileSystemId: z.string().regex(/^fs-[0-9a-f]{8,17}$/, "must be an EFS file system ID (fs- and 8 to 17 hex digits)"),
    /** The host's private address: the proxy, the relay and the remote sandbox API as tasks reach them. */
    hostPrivateAddress: privateIpv4,
    /** Port of the remote sandbox API on the host (`OH_SANDBOX_API_URL`). */
    sandboxApiPort: z.number().int().min(1).max(65535).default(8082),
    /** The secret every user's `OH_SANDBOX_API_KEY` is derived from (src/ecs/sandbox-api-key.ts); 32 characters at least. */
    sandboxApiKeySecret: secretSchema,
    /** Internal domain of sandbox URLs (`<route port>-<slug>.<sandbox domain>`), resolved to the host inside the VPC. */
    sandboxDomain: hostName,
    /** CloudWatch log group the tasks' output goes to (awslogs; the infra's `/<name>/<env>/tasks`). Absent: no task logs. */
    taskLogGroup: z
      .string()
      .regex(/^[A-Za-z0-9._/#-]{1,512}$/, "must be a CloudWatch log group name (letters, digits, '.', '_', '/', '#', '-')")
      .optional(),
    /** How long a start waits for its task to be RUNNING (Fargate starts take tens of seconds, more with a cold image). */
    taskStartTimeoutMs: z.number().int().min(1_000).max(900_000).default(240_000),
    /** Interval of DescribeTasks while waiting for a task (ECS throttles DescribeTasks per account). */
    taskPollIntervalMs: z.number().int().min(50).max(60_000).default(2_000),
    /** Interval of the view's refresh from ECS (a task that stopped on its own is seen within this). */
    viewRefreshIntervalMs: z.number().int().min(1_000).max(600_000).default(15_000),
    /** Each user's EFS access points, app secret, app role and sandbox role (src/ecs/user-resources.ts); needed to serve users. */
    userResources: userResourcesSchema.optional(),
  })
  .strict()
  .superRefine((ecs, ctx) => {
    const problem = fargateSizeProblem(ecs.appCpu, ecs.appMemoryMiB);
    if (problem) ctx.addIssue({ code: "custom", path: ["appMemoryMiB"], message: `with appCpu ${ecs.appCpu}: ${problem}` });
    const account = (arn: string) => arn.split(":")[4];
    // A boundary from another account cannot be attached: IAM would refuse every such role at its creation.
    for (const field of ["sandboxRoleBoundaryArn", "appRoleBoundaryArn"] as const) {
      const boundary = ecs.userResources?.[field];
      if (boundary && account(boundary) !== account(ecs.executionRoleArn)) {
        ctx.addIssue({
          code: "custom",
          path: ["userResources", field],
          message:
            `is in account ${account(boundary)}, the execution role in ${account(ecs.executionRoleArn)}: ` +
            "both must be the deployment's account",
        });
      }
    }
  });

export const configSchema = z
  .object({
    version: z.literal(1).default(1),
    /** Where users' apps and sandboxes run: containers on this host's Docker engine, or Fargate tasks (docs/ecs.md). */
    backend: z.enum(["docker", "ecs"]).default("docker"),
    /** Required when `backend` is "ecs"; ignored otherwise. */
    ecs: ecsSchema.optional(),
    logLevel: z.enum(["debug", "info", "warn", "error"]).default("info"),
    /** Control API: 127.0.0.1:8081 on the host (docs/CONTRACTS.md); never public. */
    api: z
      .object({ host: z.string().default("127.0.0.1"), port: z.number().int().min(0).max(65535).default(8081) })
      .strict()
      .default({ host: "127.0.0.1", port: 8081 }),
    appHost: hostName,
    runtimeDomain: hostName,
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, "must be an AWS region such as eu-central-1"),
    eventsBucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be an S3 bucket name"),
    docker: z
      .object({ socketPath: z.string().default("/var/run/docker.sock") })
      .strict()
      .default({ socketPath: "/var/run/docker.sock" }),
    images: z
      .object({
        app: imageRef,
        agentServer: imageRef,
        /**
         * The app's OpenHands version (`major.minor.patch`), which chooses the environment it gets. Default: the
         * leading version of the app image's tag; required when that tag does not start with one.
         */
        openhandsVersion: z
          .string()
          .regex(/^\d{1,4}\.\d{1,4}\.\d{1,4}$/, "must be an OpenHands version such as 1.11.0")
          .optional(),
      })
      .strict()
      .refine((images) => openhandsVersion(images) !== undefined, {
        message: "app image tag does not start with an OpenHands version (such as 1.11.0): set images.openhandsVersion",
        path: ["openhandsVersion"],
      }),
    network: z
      .object({
        /**
         * First two octets of the user subnets `<prefix>.N.0/24`, inside 10.0.0.0/8. Loopback (127.x) is refused:
         * the proxy refuses 127.x upstreams, and an app on loopback would share the host's own services' addresses.
         */
        subnetPrefix: z
          .string()
          .refine((value) => !/^127\./.test(value), "is loopback: user subnets must be in 10.0.0.0/8 (the proxy refuses 127.x upstreams)")
          .refine((value) => /^127\./.test(value) || /^10\.(25[0-5]|2[0-4]\d|1?\d?\d)$/.test(value), "must be two octets such as 10.240")
          .default("10.240"),
        /** Port of the app inside its container, and of the webhook relay on every user gateway. */
        appPort: z.number().int().min(1).max(65535).default(3000),
        relayPort: z.number().int().min(1).max(65535).default(3000),
        llmGatewayPort: z.number().int().min(1).max(65535).default(4000),
        /**
         * How long a /24 freed by removing a user's network stays unused: at least twice the proxy's route
         * cache (runtime-proxy `routeCacheSeconds`, 30 s), so no cached route to `.2` reaches the next user.
         */
        subnetReuseDelayMs: z.number().int().min(0).max(3_600_000).default(60_000),
      })
      .strict()
      .default({ subnetPrefix: "10.240", appPort: 3000, relayPort: 3000, llmGatewayPort: 4000, subnetReuseDelayMs: 60_000 }),
    paths: z
      .object({
        /** EFS mount; identical on the host and in the spawner's container (paths are handed to dockerd). */
        efsRoot: z.string().refine(isAbsolute, "must be an absolute path"),
        /** Directory of the per-app Docker API sockets; identical on the host and in the spawner's container. */
        dockerApiDir: z.string().refine(isAbsolute, "must be an absolute path"),
      })
      .strict(),
    database: z
      .object({
        host: z.string().min(1),
        port: z.number().int().min(1).max(65535).default(5432),
        adminUser: z.string().min(1),
        adminPassword: secretSchema,
        adminDatabase: z.string().min(1).default("postgres"),
        /** Host name the apps use (defaults to `host`); tests point the spawner and the apps at different addresses. */
        appHost: z.string().min(1).optional(),
        /**
         * TLS of the spawner's own admin connection. `verify-full` checks the server's certificate against `caFile`
         * (the RDS CA bundle) and its name; `require` encrypts without checking it; `disable` is for a local server
         * without TLS. Default: require (the host has no RDS CA bundle unless `caFile` names one).
         */
        tls: z
          .object({
            mode: z.enum(["verify-full", "require", "disable"]).default("require"),
            caFile: z.string().refine(isAbsolute, "must be an absolute path").optional(),
          })
          .strict()
          .refine((tls) => tls.mode !== "verify-full" || tls.caFile !== undefined, {
            message: "verify-full needs caFile (the CA bundle that signs the database's certificate, such as the RDS global bundle)",
            path: ["caFile"],
          })
          .default({ mode: "require" }),
      })
      .strict(),
    secrets: z.object({ dbPasswordKey: secretSchema, openhandsJwtSecret: secretSchema, llmGatewayKey: secretSchema }).strict(),
    /** The LLM gateway's model name (LiteLLM `model_name`); users' settings get `litellm_proxy/<model>`. */
    llm: z.object({ model: z.string().min(1).max(200) }).strict(),
    users: z
      .object({
        idleMinutes: z.number().positive().default(60),
        maxRunningApps: z.number().int().min(1).default(20),
        maxRunningSandboxes: z.number().int().min(1).default(30),
        /** OH_SANDBOX_MAX_NUM_SANDBOXES: OpenHands pauses older sandboxes down to this minus 1 before a start and fails when that is 0. */
        sandboxesPerUser: z
          .number()
          .int()
          .min(
            2,
            "must be at least 2 (OpenHands pauses older sandboxes down to this limit minus 1 before every start and fails when " +
              "that is 0: with 1 no sandbox ever starts)",
          )
          .default(3),
        /** Sandbox containers one user may have in any state (OpenHands keeps one per conversation until deleted). */
        maxSandboxContainersPerUser: z.number().int().min(1).max(1000).default(50),
      })
      .strict()
      .default({ idleMinutes: 60, maxRunningApps: 20, maxRunningSandboxes: 30, sandboxesPerUser: 3, maxSandboxContainersPerUser: 50 }),
    limits: z
      .object({
        appMemoryMiB: z.number().int().min(256).default(2048),
        appCpus: z.number().positive().default(1),
        sandboxMemoryMiB: z.number().int().min(256).default(4096),
        sandboxCpus: z.number().positive().default(2),
        pidsLimit: z.number().int().min(64).default(4096),
      })
      .strict()
      .default({ appMemoryMiB: 2048, appCpus: 1, sandboxMemoryMiB: 4096, sandboxCpus: 2, pidsLimit: 4096 }),
    timing: z
      .object({
        healthTimeoutMs: z.number().int().min(100).default(180_000),
        healthIntervalMs: z.number().int().min(10).default(500),
        ensureWaitMs: z.number().int().min(0).max(60_000).default(2_000),
        cullIntervalMs: z.number().int().min(100).default(60_000),
        /** Bound on connecting to PostgreSQL and on each statement (a hung database fails the start, it does not hold it). */
        databaseTimeoutMs: z.number().int().min(100).max(300_000).default(10_000),
        /** Bound on each Docker API call of the spawner's own (a hung engine fails the start with what failed). */
        dockerTimeoutMs: z.number().int().min(100).max(600_000).default(30_000),
        /**
         * OH_SANDBOX_STARTUP_GRACE_SECONDS (read by 1.7.0 and 1.11.0): a sandbox that has not answered /health this
         * long after its start is ERROR and the conversation start aborts (OpenHands' default, 15 s, is shorter than a
         * cold agent-server start on a loaded host). 120 s matches how long OpenHands waits for a sandbox to run
         * (OH_APP_CONVERSATION_SANDBOX_STARTUP_TIMEOUT, 120 s).
         */
        sandboxStartupGraceSeconds: z.number().int().min(15).max(600).default(120),
      })
      .strict()
      .default({
        healthTimeoutMs: 180_000,
        healthIntervalMs: 500,
        ensureWaitMs: 2_000,
        cullIntervalMs: 60_000,
        databaseTimeoutMs: 10_000,
        dockerTimeoutMs: 30_000,
        sandboxStartupGraceSeconds: 120,
      }),
    /** GET /healthz: the bound on each dependency's check (Docker /_ping, PostgreSQL SELECT 1). */
    health: z
      .object({ timeoutMs: z.number().int().min(100).max(30_000).default(2_000) })
      .strict()
      .default({ timeoutMs: 2_000 }),
    /**
     * Memory admission: the sum of the memory limits of running apps and sandboxes stays within the budget.
     * `budgetMiB` absent: the host's MemTotal (read at start) minus `hostReserveMiB` for the host's own services.
     */
    memory: z
      .object({
        budgetMiB: z.number().int().min(256).optional(),
        hostReserveMiB: z.number().int().min(0).default(2048),
      })
      .strict()
      .default({ hostReserveMiB: 2048 }),
    /** uid/gid of the agent-server image's `openhands` user (owner of the workspace). */
    workspaceUid: z.number().int().min(0).default(10001),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (config.backend !== "ecs") return;
    if (!config.ecs) {
      ctx.addIssue({
        code: "custom",
        path: ["ecs"],
        message: 'is required when backend is "ecs" (cluster, subnets, security groups, roles, EFS and the host\'s private address)',
      });
      return;
    }
    // The relay and the LLM gateway listen on the same host address the sandbox API does.
    const taken: Array<[string, number]> = [
      ["network.relayPort", config.network.relayPort],
      ["network.llmGatewayPort", config.network.llmGatewayPort],
    ];
    for (const [field, port] of taken) {
      if (port === config.ecs.sandboxApiPort) {
        ctx.addIssue({ code: "custom", path: ["ecs", "sandboxApiPort"], message: `is already ${field}: pick another port` });
      }
    }
  });

export type SpawnerConfigInput = z.input<typeof configSchema>;
type ParsedConfig = z.output<typeof configSchema>;

/** The ECS settings with their defaults resolved and the sandbox API key secret read. */
export type EcsConfig = Omit<NonNullable<ParsedConfig["ecs"]>, "region" | "appImage" | "sandboxApiKeySecret"> & {
  region: string;
  appImage: string;
  sandboxApiKeySecret: string;
};

/** The validated configuration with every secret read into a string. */
export type SpawnerConfig = Omit<ParsedConfig, "database" | "secrets" | "ecs"> & {
  /** Present when `backend` is "ecs" (and when an ecs section is given with the docker backend, unused then). */
  ecs?: EcsConfig;
  /** `adminPasswordFile`: where the password was read, to read it again after a rotation (absent when inline). */
  database: Omit<ParsedConfig["database"], "adminPassword" | "tls"> & {
    adminPassword: string;
    adminPasswordFile?: string;
    tls: DatabaseTls;
  };
  secrets: { dbPasswordKey: string; openhandsJwtSecret: string; llmGatewayKey: string };
};

export class ConfigError extends Error {
  override name = "ConfigError";
}

export function readSecret(value: z.infer<typeof secretSchema>, field: string): string {
  if (typeof value === "string") return value;
  try {
    const text = readFileSync(value.file, "utf8").trim();
    if (!text) throw new Error("file is empty");
    return text;
  } catch (error) {
    throw new ConfigError(`${field}: cannot read secret file ${value.file}: ${(error as Error).message}`);
  }
}

/** A PEM CA bundle file: read once at start; a missing or non-PEM file is a configuration error. */
function readCaFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigError(`config.database.tls.caFile: cannot read ${file}: ${(error as Error).message}`);
  }
  if (!text.includes("-----BEGIN CERTIFICATE-----")) throw new ConfigError(`config.database.tls.caFile: ${file} holds no PEM certificate`);
  return text;
}

/** Field paths whose values are (or may be) credentials. */
const SECRET_PATH = /password|secret|key|token|credential/i;

/**
 * What an error message may show of a bad value: only a short scalar outside secret fields. Objects are never
 * printed (an unknown key at the top would otherwise print the whole document, inline secrets included).
 */
function shownValue(path: string, value: unknown): string {
  if (value === undefined) return "missing";
  // Secrets in error output: a value under a secret-like path, or any object or array, is described, not printed.
  if (SECRET_PATH.test(path)) return "[redacted]";
  if (value === null || typeof value === "number" || typeof value === "boolean") return JSON.stringify(value);
  if (typeof value === "string") return value.length <= 100 ? JSON.stringify(value) : `(a string of ${value.length} characters)`;
  return Array.isArray(value) ? "(an array)" : "(an object)";
}

/** Validates a configuration document; every bad field is named with what is expected (and its value when harmless). */
export function parseConfig(input: unknown): SpawnerConfig {
  const result = configSchema.safeParse(input);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const path = issue.path.join(".") || "(root)";
      if (issue.code === "unrecognized_keys") {
        // Key names only, each cut short: a key is not a value, but a pasted secret could sit in one.
        const keys = issue.keys.map((key) => JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}…` : key)).join(", ");
        return `config.${path}: unknown field${issue.keys.length > 1 ? "s" : ""} ${keys}`;
      }
      const value = issue.path.reduce<unknown>(
        (node, key) => (node && typeof node === "object" ? (node as Record<PropertyKey, unknown>)[key as PropertyKey] : undefined),
        input,
      );
      // A scalar where a section was expected ("database": "postgres://user:password@…") is described, not printed.
      const section = issue.code === "invalid_type" && ["object", "array", "record", "map", "set"].includes(String(issue.expected));
      const shown =
        section && value !== undefined
          ? `(a ${value === null ? "null" : Array.isArray(value) ? "array" : typeof value})`
          : shownValue(path, value);
      return `config.${path}: ${shown} ${issue.message}`;
    });
    throw new ConfigError(`invalid spawner configuration:\n  ${lines.join("\n  ")}`);
  }
  const { ecs, ...parsed } = result.data;
  return {
    ...parsed,
    ...(ecs ? { ecs: ecsConfig(ecs, parsed.region, parsed.images.app) } : {}),
    database: {
      ...parsed.database,
      adminPassword: readSecret(parsed.database.adminPassword, "config.database.adminPassword"),
      ...(typeof parsed.database.adminPassword === "object" ? { adminPasswordFile: parsed.database.adminPassword.file } : {}),
      tls: { mode: parsed.database.tls.mode, ...(parsed.database.tls.caFile ? { ca: readCaFile(parsed.database.tls.caFile) } : {}) },
    },
    secrets: {
      dbPasswordKey: readSecret(parsed.secrets.dbPasswordKey, "config.secrets.dbPasswordKey"),
      openhandsJwtSecret: readSecret(parsed.secrets.openhandsJwtSecret, "config.secrets.openhandsJwtSecret"),
      llmGatewayKey: gatewayMasterKey(readSecret(parsed.secrets.llmGatewayKey, "config.secrets.llmGatewayKey")),
    },
  };
}

function ecsConfig(ecs: NonNullable<ParsedConfig["ecs"]>, region: string, appImage: string): EcsConfig {
  const secret = readSecret(ecs.sandboxApiKeySecret, "config.ecs.sandboxApiKeySecret");
  // A short secret makes every user's sandbox API key guessable (src/ecs/sandbox-api-key.ts refuses it too, later).
  if (secret.length < 32) {
    throw new ConfigError(
      `config.ecs.sandboxApiKeySecret: (${secret.length} characters, not shown) is too short: at least 32 characters ` +
        "(such as 32 random bytes in base64)",
    );
  }
  return { ...ecs, region: ecs.region ?? region, appImage: ecs.appImage ?? appImage, sandboxApiKeySecret: secret };
}

/** The gateway's master key, from which every person's key is derived; its value is never printed. */
function gatewayMasterKey(key: string): string {
  if (!/^sk-[!-~]{17,}$/.test(key) || key.startsWith("sk-oh-")) {
    throw new ConfigError(
      `config.secrets.llmGatewayKey: (${key.length} characters, not shown) is not the gateway's master key: expected "sk-" ` +
        `followed by the llm-gateway-key secret (the host writes it to /run/openhands-team/secrets/llm-gateway-api-key), not a ` +
        `person's sk-oh- key`,
    );
  }
  return key;
}

/** Finds and parses the configuration from the command line or the environment. */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): SpawnerConfig {
  const flag = argv.indexOf("--config");
  let file: string | undefined;
  if (flag >= 0) {
    file = argv[flag + 1];
    if (!file) throw new ConfigError("--config needs a file path");
  } else if (env.SPAWNER_CONFIG_FILE) {
    file = env.SPAWNER_CONFIG_FILE;
  }
  let text: string;
  if (file) {
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      throw new ConfigError(`cannot read configuration file ${file}: ${(error as Error).message}`);
    }
  } else if (env.SPAWNER_CONFIG_JSON) {
    text = env.SPAWNER_CONFIG_JSON;
  } else {
    throw new ConfigError("no configuration: pass --config <file.json>, or set SPAWNER_CONFIG_FILE or SPAWNER_CONFIG_JSON");
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    // Secrets in error output: newer Node versions quote the text around the error; only the position is kept.
    const position = /position (\d+)/.exec((error as Error).message)?.[1];
    throw new ConfigError(`configuration is not valid JSON${position ? ` (at character ${position})` : ""}`);
  }
  return parseConfig(document);
}
