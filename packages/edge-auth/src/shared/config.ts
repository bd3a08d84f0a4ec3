// The edge configuration and secrets of docs/CONTRACTS.md, parsed and validated in one place.
// Errors name the field, the bad value and the fix; nothing else in the package reads raw JSON.
import type { EdgeConfig } from "@openhands-team/contracts";

/** Plain configuration, SSM `/<name>/<environment>/edge/config`: the contract's type, which apps/infra writes. */
export type { EdgeConfig };

/** Keys, SSM SecureString `/<name>/<environment>/edge/secrets`: the contract's EdgeSecretsDocument, decoded. */
export interface EdgeSecrets {
  /** HMAC key of the identity headers (x-oh-sig), shared with the runtime proxy. */
  readonly identitySigningKey: Buffer;
  /** HMAC key of runtime tickets and runtime cookies. */
  readonly ticketKey: Buffer;
  /** HMAC key of the login (nonce + PKCE) cookie. */
  readonly nonceKey: Buffer;
  /** Present when the app client has a secret (token requests then use HTTP Basic). */
  readonly clientSecret?: string;
  /**
   * The issuer's JWKS as the host downloaded it from `uri` (fields `jwksUri` and `jwks`), so that a cold start verifies a session
   * without a second round trip. Used only for the configured `jwksUri`; a `kid` it lacks is still downloaded from the issuer.
   */
  readonly jwks?: { readonly uri: string; readonly keys: Jwks };
}

export type Jwks = { readonly keys: readonly Record<string, unknown>[] };

export class EdgeConfigError extends Error {
  override readonly name = "EdgeConfigError";
}

/** The secrets parameter still holds the value Terraform created; the host has not filled it yet. */
export class EdgeSecretsNotReadyError extends Error {
  override readonly name = "EdgeSecretsNotReadyError";
}

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/;
const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);
const BASE64URL = /^[A-Za-z0-9_-]+$/;

function parseJson(what: string, input: unknown): Record<string, unknown> {
  let value: unknown = input;
  if (typeof input === "string") {
    try {
      value = JSON.parse(input);
    } catch {
      throw new EdgeConfigError(`${what}: is not valid JSON (expected the object documented in docs/CONTRACTS.md)`);
    }
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new EdgeConfigError(`${what}: is not a JSON object (expected the object documented in docs/CONTRACTS.md)`);
  }
  return value as Record<string, unknown>;
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function hostname(field: string, value: unknown): string {
  if (typeof value !== "string" || !HOSTNAME.test(value)) {
    throw new EdgeConfigError(
      `config.${field}: ${show(value)} is not a host name (expected a lower-case DNS name such as openhands.example.com)`,
    );
  }
  return value;
}

function url(field: string, value: unknown): string {
  let parsed: URL | undefined;
  if (typeof value === "string") {
    try {
      parsed = new URL(value);
    } catch {
      parsed = undefined;
    }
  }
  // Plain http only for a loopback provider (local runs and tests); anything else would send codes and tokens in clear.
  const ok = parsed && (parsed.protocol === "https:" || (parsed.protocol === "http:" && LOOPBACK_HOSTS.has(parsed.hostname)));
  if (!ok || parsed?.username || parsed?.password || parsed?.hash) {
    throw new EdgeConfigError(
      `config.${field}: ${show(value)} is not an https URL (expected for example https://login.example.com/oauth2/token)`,
    );
  }
  return value as string;
}

function text(field: string, value: unknown, pattern: RegExp, expected: string): string {
  if (typeof value !== "string" || !pattern.test(value)) {
    throw new EdgeConfigError(`config.${field}: ${show(value)} is not valid (expected ${expected})`);
  }
  return value;
}

/** Parses and validates the config parameter (its JSON text, or the object itself). */
export function parseEdgeConfig(json: unknown): EdgeConfig {
  const raw = parseJson("config", json);
  if (raw.version !== 1) throw new EdgeConfigError(`config.version: ${show(raw.version)} is not supported (expected 1)`);
  const scopes = raw.scopes;
  if (
    !Array.isArray(scopes) ||
    !scopes.includes("openid") ||
    !scopes.every((s) => typeof s === "string" && /^[\x21\x23-\x5b\x5d-\x7e]+$/.test(s))
  ) {
    throw new EdgeConfigError(`config.scopes: ${show(scopes)} is not valid (expected a list of OAuth scopes that includes "openid")`);
  }
  const maxAge = raw.sessionMaxAgeSeconds;
  if (typeof maxAge !== "number" || !Number.isInteger(maxAge) || maxAge < 300 || maxAge > 315_360_000) {
    throw new EdgeConfigError(
      `config.sessionMaxAgeSeconds: ${show(maxAge)} is not valid (expected whole seconds between 300 and 315360000)`,
    );
  }
  const appHost = hostname("appHost", raw.appHost);
  const runtimeDomain = hostname("runtimeDomain", raw.runtimeDomain);
  if (appHost === runtimeDomain || appHost.endsWith(`.${runtimeDomain}`)) {
    throw new EdgeConfigError(
      `config.appHost: "${appHost}" lies inside the runtime domain "${runtimeDomain}" (expected a host outside it)`,
    );
  }
  return {
    version: 1,
    appHost,
    runtimeDomain,
    issuer: url("issuer", raw.issuer),
    jwksUri: url("jwksUri", raw.jwksUri),
    userPoolId: text("userPoolId", raw.userPoolId, /^[\w.-]{1,100}$/, "a Cognito user pool id such as us-east-1_AbCdEf123"),
    clientId: text("clientId", raw.clientId, /^[\w+.-]{1,128}$/, "an app client id of letters and digits"),
    authorizeUrl: url("authorizeUrl", raw.authorizeUrl),
    tokenUrl: url("tokenUrl", raw.tokenUrl),
    logoutUrl: url("logoutUrl", raw.logoutUrl),
    scopes: [...scopes] as string[],
    sessionMaxAgeSeconds: maxAge,
  };
}

function key(field: string, value: unknown): Buffer {
  const bytes = typeof value === "string" && BASE64URL.test(value) ? Buffer.from(value, "base64url") : Buffer.alloc(0);
  if (bytes.length < 32) {
    throw new EdgeConfigError(`secrets.${field}: is missing or shorter than 32 bytes (expected base64url of 32 random bytes)`);
  }
  return bytes;
}

/**
 * The optional `jwksUri` + `jwks` pair of the secrets parameter. Anything malformed is left out with a log line (the keys are then
 * downloaded from the issuer as without it): it only saves a round trip, and the verifier checks every key it takes from it.
 */
function embeddedJwks(raw: Record<string, unknown>): EdgeSecrets["jwks"] {
  if (raw.jwks === undefined && raw.jwksUri === undefined) return undefined;
  const jwks = raw.jwks as { keys?: unknown } | null;
  const keys = typeof jwks === "object" && jwks !== null && !Array.isArray(jwks) ? jwks.keys : undefined;
  const ok =
    typeof raw.jwksUri === "string" &&
    Array.isArray(keys) &&
    keys.length > 0 &&
    keys.length <= 20 &&
    keys.every(
      (k) =>
        typeof k === "object" &&
        k !== null &&
        !Array.isArray(k) &&
        typeof (k as { kid?: unknown }).kid === "string" &&
        typeof (k as { kty?: unknown }).kty === "string",
    );
  if (!ok) {
    console.warn(
      JSON.stringify({
        level: "warn",
        message:
          "edge-auth: secrets.jwks/jwksUri ignored (expected jwksUri and a JWKS of 1-20 keys with kid and kty); the JWKS is " +
          "downloaded instead",
      }),
    );
    return undefined;
  }
  return { uri: raw.jwksUri as string, keys: { keys: keys as Record<string, unknown>[] } };
}

/** Parses the secrets parameter (JSON text or object); throws EdgeSecretsNotReadyError while it holds `{"unset":true}`. */
export function parseEdgeSecrets(json: unknown): EdgeSecrets {
  const raw = parseJson("secrets", json);
  if (raw.unset === true)
    throw new EdgeSecretsNotReadyError("secrets: the parameter still holds its placeholder; the host fills it on first boot");
  if (raw.clientSecret !== undefined && (typeof raw.clientSecret !== "string" || raw.clientSecret.length === 0)) {
    throw new EdgeConfigError("secrets.clientSecret: is not a non-empty string (expected the app client secret, or no field)");
  }
  const secrets: EdgeSecrets = {
    identitySigningKey: key("identitySigningKey", raw.identitySigningKey),
    ticketKey: key("ticketKey", raw.ticketKey),
    nonceKey: key("nonceKey", raw.nonceKey),
  };
  const jwks = embeddedJwks(raw);
  return { ...secrets, ...(typeof raw.clientSecret === "string" ? { clientSecret: raw.clientSecret } : {}), ...(jwks ? { jwks } : {}) };
}
