/**
 * A user's app as an ECS task definition `oh-app-<slug>` (docs/ecs.md, section 3): the environment the docker backend
 * gives the app (app-environment.ts) turned to OpenHands' remote sandbox service, the app's keys (database password,
 * JWT secret, sandbox API key) as ECS secrets from the user's Secrets Manager secret (never in the definition itself),
 * the user's app EFS access point where the docker backend binds the user's `.openhands` folder, ARM64 Fargate. A
 * content hash kept as a Docker label of the app container says whether the family's latest revision already is this
 * definition.
 */
import { createHash } from "node:crypto";
import type { RegisterTaskDefinitionCommandInput } from "@aws-sdk/client-ecs";
import { awsLogs } from "./client";
import { APP_STATE_DIR, appEnvironment, openhandsVersion, userJwtSecret } from "../app-environment";
import type { EcsConfig, SpawnerConfig } from "../config";
import type { UserDatabase } from "../database";
import { sandboxApiKey } from "./sandbox-api-key";

/** Label of the app container holding the definition's content hash. */
export const APP_SPEC_LABEL = "org.openhands-team.spec";
export const APP_CONTAINER = "app";
const STATE_VOLUME = "openhands";
/** Seconds between SIGTERM and SIGKILL on a stop (the docker backend stops with 10 as well). */
export const APP_STOP_TIMEOUT_SECONDS = 10;

export const appFamily = (slug: string): string => `oh-app-${slug}`;

/** What the spawner holds per user outside ECS, made before the first start (not by this module). */
export interface AppTaskResources {
  /** The user's app access point on `ecs.efsFileSystemId` (root `/users/<slug>/openhands`, POSIX user 0:0). */
  appAccessPointId: string;
  /** The ARN of the user's Secrets Manager secret holding `appSecretString` of the user's values. */
  appSecretArn: string;
  /** The user's app task role: their events under `users/<slug>/` and their app access point, nothing of other users. */
  appTaskRoleArn: string;
}

/**
 * The app's values kept in the user's secret and handed to the task as ECS secrets, never as environment values of
 * the definition: whoever may call DescribeTaskDefinition would read them there, and with them log in to the user's
 * database, sign the user's app tokens (X-Access-Token), or act as the user's app on the sandbox API.
 */
export const APP_SECRET_NAMES = ["DB_PASS", "JWT_SECRET", "OH_SANDBOX_API_KEY"] as const;
export type AppSecretValues = Record<(typeof APP_SECRET_NAMES)[number], string>;

/** The user's secret's value: a JSON object of `APP_SECRET_NAMES`, in that order (its hash names the version). */
export function appSecretString(values: AppSecretValues): string {
  return JSON.stringify(Object.fromEntries(APP_SECRET_NAMES.map((name) => [name, values[name]])));
}

/**
 * Variables of the docker environment that have no meaning in a task: the Docker sandbox service's settings (the
 * remote sandbox service has none of these fields: api_url, api_key, polling_interval, resource_factor,
 * runtime_class, start_sandbox_timeout, max_num_sandboxes) and the Docker API.
 */
const DOCKER_ONLY = new Set([
  "OH_SANDBOX_CONTAINER_NAME_PREFIX",
  "OH_SANDBOX_STARTUP_GRACE_SECONDS",
  "OH_SANDBOX_CONTAINER_URL_PATTERN",
  "OH_SANDBOX_HOST_PORT",
  "OH_SANDBOX_EXTRA_HOSTS",
  "DOCKER_HOST",
]);

/** The app task's environment values (APP_SECRET_NAMES among them) before they are split into environment and secrets. */
function appTaskValues(config: SpawnerConfig, ecs: EcsConfig, slug: string, database: UserDatabase): Array<[string, string]> {
  const docker = appEnvironment({
    slug,
    database,
    // The proxy reaches the app from the host's private address (FORWARDED_ALLOW_IPS).
    gateway: ecs.hostPrivateAddress,
    relayPort: config.network.relayPort,
    appHost: config.appHost,
    region: ecs.region,
    eventsBucket: config.eventsBucket,
    agentServerImage: config.images.agentServer,
    sandboxesPerUser: config.users.sandboxesPerUser,
    jwtSecret: userJwtSecret(config.secrets.openhandsJwtSecret, slug),
    // ecs.appImage is the same OpenHands as images.app (a copy in the registry ECS pulls from).
    openhandsVersion: openhandsVersion(config.images)!,
    sandboxStartupGraceSeconds: config.timing.sandboxStartupGraceSeconds,
  });
  const env: Array<[string, string]> = [];
  for (const [name, value] of docker) {
    if (DOCKER_ONLY.has(name)) continue;
    if (name !== "OH_SANDBOX_KIND") {
      env.push([name, value]);
      continue;
    }
    // Sandboxes through the spawner's remote sandbox API (docs/ecs.md, section 1 "Selection").
    env.push(["OH_SANDBOX_KIND", "RemoteSandboxServiceInjector"]);
    env.push(["OH_SANDBOX_SPEC_KIND", "RemoteSandboxSpecServiceInjector"]);
    env.push(["OH_SANDBOX_API_URL", `http://${ecs.hostPrivateAddress}:${ecs.sandboxApiPort}`]);
    // The key names the user: the sandbox API answers only for this user's sandboxes.
    env.push(["OH_SANDBOX_API_KEY", sandboxApiKey(ecs.sandboxApiKeySecret, slug)]);
    // The relay on the host, never the public app host: OpenHands gives sandboxes <web_url>/mcp/mcp and
    // <web_url>/api/v1/webhooks/secrets, and through the login-gated edge an agent's MCP connection fails and with it
    // the conversation. Set, no /list poller runs; CORS still names the app host (OH_PERMITTED_CORS_ORIGINS_0).
    env.push(["OH_WEB_URL", `http://${ecs.hostPrivateAddress}:${config.network.relayPort}`]);
  }
  return env;
}

const isSecretName = (name: string): name is (typeof APP_SECRET_NAMES)[number] => (APP_SECRET_NAMES as readonly string[]).includes(name);

/** The app task's environment, without APP_SECRET_NAMES (see `appTaskDefinition`'s secrets). */
export function appTaskEnvironment(config: SpawnerConfig, ecs: EcsConfig, slug: string, database: UserDatabase): Array<[string, string]> {
  return appTaskValues(config, ecs, slug, database).filter(([name]) => !isSecretName(name));
}

/** The values of the user's secret, the same the docker backend gives its app as environment. */
export function appSecretValues(config: SpawnerConfig, ecs: EcsConfig, slug: string, database: UserDatabase): AppSecretValues {
  const values = new Map(appTaskValues(config, ecs, slug, database));
  const missing = APP_SECRET_NAMES.filter((name) => !values.get(name));
  if (missing.length > 0) throw new Error(`app secret of ${slug}: no value for ${missing.join(", ")}`);
  return Object.fromEntries(APP_SECRET_NAMES.map((name) => [name, values.get(name)!])) as AppSecretValues;
}

export interface AppTaskDefinition {
  input: RegisterTaskDefinitionCommandInput;
  /** The content hash, also in the container's `dockerLabels[APP_SPEC_LABEL]`. */
  spec: string;
}

export function appTaskDefinition(
  config: SpawnerConfig,
  ecs: EcsConfig,
  slug: string,
  database: UserDatabase,
  resources: AppTaskResources,
): AppTaskDefinition {
  const labels: Record<string, string> = { "org.openhands-team.owner": slug, "org.openhands-team.role": "app" };
  const input = {
    family: appFamily(slug),
    networkMode: "awsvpc",
    requiresCompatibilities: ["FARGATE"],
    runtimePlatform: { cpuArchitecture: "ARM64", operatingSystemFamily: "LINUX" },
    cpu: String(ecs.appCpu),
    memory: String(ecs.appMemoryMiB),
    taskRoleArn: resources.appTaskRoleArn,
    executionRoleArn: ecs.executionRoleArn,
    volumes: [
      {
        name: STATE_VOLUME,
        efsVolumeConfiguration: {
          fileSystemId: ecs.efsFileSystemId,
          transitEncryption: "ENABLED",
          // The access point confines the app to the user's folder; IAM, so the file system policy can refuse the rest.
          authorizationConfig: { accessPointId: resources.appAccessPointId, iam: "ENABLED" },
        },
      },
    ],
    containerDefinitions: [
      {
        name: APP_CONTAINER,
        image: ecs.appImage,
        essential: true,
        portMappings: [{ containerPort: config.network.appPort, protocol: "tcp" }],
        environment: appTaskEnvironment(config, ecs, slug, database).map(([name, value]) => ({ name, value })),
        // Secrets in task definitions: anyone allowed DescribeTaskDefinition would read keys kept in environment.
        secrets: APP_SECRET_NAMES.map((name) => ({ name, valueFrom: `${resources.appSecretArn}:${name}::` })),
        mountPoints: [{ sourceVolume: STATE_VOLUME, containerPath: APP_STATE_DIR, readOnly: false }],
        stopTimeout: APP_STOP_TIMEOUT_SECONDS,
        // The docker backend runs the app with an init process (Init: true) as well.
        linuxParameters: { initProcessEnabled: true },
        ...(ecs.taskLogGroup ? { logConfiguration: awsLogs(ecs.region, ecs.taskLogGroup, "app") } : {}),
        dockerLabels: labels,
      },
    ],
  } satisfies RegisterTaskDefinitionCommandInput;
  const spec = createHash("sha256").update(JSON.stringify(input)).digest("hex").slice(0, 16);
  labels[APP_SPEC_LABEL] = spec;
  return { input, spec };
}
