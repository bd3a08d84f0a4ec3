/**
 * The environment of a user's OpenHands app container (verified pairs: 1.7.0 and 1.11.0), variable by variable,
 * with the reason for each and which versions read it (read from the OpenHands source at those tags;
 * docs/architecture.md, "One OpenHands per person, and why"). A variable a version does not read is not set.
 *
 * Deliberately NOT set:
 * - SESSION_API_KEY: every /api/v1 router would demand X-Session-API-Key, which the SPA never sends.
 * - OH_WEB_URL / WEB_HOST: sandboxes would call MCP and secrets through the public, login-gated URL.
 * - SANDBOX_VOLUMES / OH_SANDBOX_MOUNTS_*: the same mounts would go to every sandbox; the Docker filter adds
 *   the user's own workspace instead.
 * - FILE_STORE=s3 (1.7.0): settings.json and secrets.json would land at the bucket root, shared by every user.
 * - RUNTIME: anything but remote/local selects Docker, which is what we want.
 * - LLM_* variables: they are forwarded into sandboxes but do not seed user settings in 1.7.0; the spawner
 *   seeds settings through POST /api/v1/settings instead.
 */
import { createHmac } from "node:crypto";
import type { UserDatabase } from "./database";
import { names } from "./slug";

export interface AppEnvironmentInput {
  slug: string;
  database: UserDatabase;
  gateway: string;
  relayPort: number;
  appHost: string;
  region: string;
  eventsBucket: string;
  agentServerImage: string;
  sandboxesPerUser: number;
  jwtSecret: string;
  /** The app's OpenHands version (`major.minor.patch`), from `openhandsVersion()`. */
  openhandsVersion: string;
  /** Seconds a new sandbox has to answer /health before OpenHands marks it ERROR. */
  sandboxStartupGraceSeconds: number;
}

/** `1.11.0` -> [1, 11, 0]; undefined when the text is not such a version. */
function versionParts(version: string): [number, number, number] | undefined {
  const match = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
  return match ? [Number(match[1]), Number(match[2]), Number(match[3])] : undefined;
}

/** Whether `version` is at least `floor` (both `major.minor.patch`). */
export function versionAtLeast(version: string, floor: string): boolean {
  const a = versionParts(version);
  const b = versionParts(floor);
  if (!a || !b) throw new Error(`not a major.minor.patch version: ${JSON.stringify(a ? floor : version)}`);
  for (let i = 0; i < 3; i += 1) if (a[i] !== b[i]) return a[i]! > b[i]!;
  return true;
}

/**
 * The OpenHands version of the app: the explicit `openhandsVersion` when given, otherwise the leading
 * `major.minor.patch` of the app image's tag (`…/openhands:1.11.0` -> `1.11.0`); undefined when neither says.
 */
export function openhandsVersion(images: { app: string; openhandsVersion?: string | undefined }): string | undefined {
  if (images.openhandsVersion) return images.openhandsVersion;
  const tag = images.app.slice(images.app.lastIndexOf(":") + 1);
  return /^v?(\d+\.\d+\.\d+)(?![\d.])/.exec(tag)?.[1];
}

/** In-container mount points shared with app-backend.ts. */
export const APP_STATE_DIR = "/.openhands";
export const APP_DOCKER_DIR = "/run/ohdocker";

/** A per-user JWT key: a token minted by one user's app is worthless at another's. */
export function userJwtSecret(secret: string, slug: string): string {
  return createHmac("sha256", Buffer.from(secret, "utf8")).update(`jwt:${slug}`, "utf8").digest("base64url");
}

export function appEnvironment(input: AppEnvironmentInput): Array<[string, string]> {
  const colon = input.agentServerImage.lastIndexOf(":");
  const repository = input.agentServerImage.slice(0, colon);
  const tag = input.agentServerImage.slice(colon + 1);
  const v = input.openhandsVersion;
  return [
    // PostgreSQL is selected when DB_HOST is set; there is no URL form (1.7.0 and 1.11.0: services/db_session_injector.py).
    ["DB_HOST", input.database.host],
    ["DB_PORT", String(input.database.port)],
    ["DB_NAME", input.database.database],
    ["DB_USER", input.database.user],
    ["DB_PASS", input.database.password],
    // From 1.8.0 both drivers (asyncpg and the pg8000 migrations) take their SSL mode from DB_SSL_MODE: TLS is
    // required, so the data stack can force it (rds.force_ssl=1). 1.7.0 reads no SSL setting at all.
    ...(versionAtLeast(v, "1.8.0") ? [["DB_SSL_MODE", "require"] as [string, string]] : []),
    // 1.7.0 keeps settings and secrets under FILE_STORE_PATH (core/config/openhands_config.py): the user's EFS
    // folder. 1.11.0 no longer reads them for that (settings live in LocalFileStore(persistence_dir), config.py).
    ...(versionAtLeast(v, "1.11.0")
      ? []
      : [["FILE_STORE", "local"] as [string, string], ["FILE_STORE_PATH", APP_STATE_DIR] as [string, string]]),
    // The V1 persistence dir (1.7.0: .keys and the local events fallback; 1.11.0: also settings and secrets),
    // the user's EFS folder.
    ["OH_PERSISTENCE_DIR", APP_STATE_DIR],
    // Conversation events to S3 under users/<slug>/ (the user id is None in OSS, so the prefix carries it).
    ["OH_EVENT_KIND", "openhands.app_server.event.aws_event_service.AwsEventServiceInjector"],
    ["OH_EVENT_BUCKET_NAME", input.eventsBucket],
    ["OH_EVENT_PREFIX", `users/${input.slug}`],
    // Read by 1.7.0 and 1.11.0 alike from here on.
    // boto3's S3 client needs a region; credentials come from the instance role (IMDS, hop limit 2).
    ["AWS_REGION", input.region],
    ["AWS_DEFAULT_REGION", input.region],
    // Every OH_SANDBOX_* sub-variable is ignored unless the sandbox KIND is set.
    ["OH_SANDBOX_KIND", "openhands.app_server.sandbox.docker_sandbox_service.DockerSandboxServiceInjector"],
    // The user's OpenHands lists and controls only containers with this prefix; the spawner reads owners from it.
    ["OH_SANDBOX_CONTAINER_NAME_PREFIX", names.sandboxPrefix(input.slug)],
    // Per-user quota (upstream pauses the oldest sandbox beyond it); the host-wide limit is the spawner's.
    ["OH_SANDBOX_MAX_NUM_SANDBOXES", String(input.sandboxesPerUser)],
    // Seconds a sandbox has to answer /health before it is ERROR and the conversation start aborts (default 15).
    ["OH_SANDBOX_STARTUP_GRACE_SECONDS", String(input.sandboxStartupGraceSeconds)],
    // Published ports are bound to the user's gateway; the app reaches its sandboxes there, the proxy rewrites it.
    ["OH_SANDBOX_CONTAINER_URL_PATTERN", `http://${input.gateway}:{port}`],
    // Webhook base http://host.docker.internal:<port>/api/v1/webhooks lands on the relay on the gateway.
    ["OH_SANDBOX_HOST_PORT", String(input.relayPort)],
    // Same mapping the Docker filter enforces; host-gateway would resolve to docker0, not the user's bridge.
    ["OH_SANDBOX_EXTRA_HOSTS", JSON.stringify({ "host.docker.internal": input.gateway })],
    // Both are required, or the code default image is used.
    ["AGENT_SERVER_IMAGE_REPOSITORY", repository],
    ["AGENT_SERVER_IMAGE_TAG", tag],
    // The filtered Docker API of this user, never the host's socket.
    ["DOCKER_HOST", `unix://${APP_DOCKER_DIR}/docker.sock`],
    // CORS for the app and for every sandbox, without OH_WEB_URL.
    ["OH_PERMITTED_CORS_ORIGINS_0", `https://${input.appHost}`],
    // The proxy reaches the app from the host, i.e. from the gateway: uvicorn trusts its X-Forwarded-For
    // so the per-client rate limiter sees browsers, not one proxy address.
    ["FORWARDED_ALLOW_IPS", input.gateway],
    // Signs the X-Access-Token sandboxes use for /api/v1/webhooks/secrets; stable across restarts and hosts.
    ["JWT_SECRET", input.jwtSecret],
    ["LOG_JSON", "true"],
    ["LOG_LEVEL", "INFO"],
    // No server switch disables the frontend's PostHog; a dummy key (plus egress filtering) is the off switch.
    ["POSTHOG_CLIENT_KEY", "disabled"],
  ];
}
