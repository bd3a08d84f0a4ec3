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

const secretSchema = z.union([z.string().min(1), z.object({ file: z.string().refine(isAbsolute, "must be an absolute path") }).strict()]);

const imageRef = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._\-/:]*:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, "must be <repository>:<tag> (a tag, not only a digest)");

const hostName = z
  .string()
  .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/, "must be a lower-case DNS name");

export const configSchema = z
  .object({
    version: z.literal(1).default(1),
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
  .strict();

export type SpawnerConfigInput = z.input<typeof configSchema>;
type ParsedConfig = z.output<typeof configSchema>;

/** The validated configuration with every secret read into a string. */
export type SpawnerConfig = Omit<ParsedConfig, "database" | "secrets"> & {
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
  const parsed = result.data;
  return {
    ...parsed,
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
