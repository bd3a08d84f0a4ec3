// The edge functions' two SSM parameters in us-east-1 (docs/CONTRACTS.md, "Edge configuration"): written by apps/infra
// (configuration) and the host (secrets), read by packages/edge-auth.

/** Plain configuration, SSM String `/<name>/<environment>/edge/config`. */
export interface EdgeConfig {
  readonly version: 1;
  /** Host of the OpenHands app, lower case, no port. */
  readonly appHost: string;
  /** Sandboxes are served on `<port>-<slug>.<runtimeDomain>`. */
  readonly runtimeDomain: string;
  readonly issuer: string;
  readonly jwksUri: string;
  readonly userPoolId: string;
  readonly clientId: string;
  readonly authorizeUrl: string;
  readonly tokenUrl: string;
  readonly logoutUrl: string;
  readonly scopes: readonly string[];
  /** Lifetime of the session and refresh cookies. */
  readonly sessionMaxAgeSeconds: number;
}

/** The JSON of the SecureString `/<name>/<environment>/edge/secrets` once the host has filled it; keys are base64url of 32 bytes. */
export interface EdgeSecretsDocument {
  /** HMAC key of the identity headers (x-oh-sig), the same value as the identity-signing-key secret the proxy reads. */
  readonly identitySigningKey: string;
  /** HMAC key of runtime tickets and runtime cookies. */
  readonly ticketKey: string;
  /** HMAC key of the login (nonce + PKCE) cookie. */
  readonly nonceKey: string;
  /** Present when the app client has a secret. */
  readonly clientSecret?: string;
  /** The issuer's JWKS URI and public keys as the host downloaded them at boot; used only when `jwksUri` equals the configuration's. */
  readonly jwksUri?: string;
  readonly jwks?: { readonly keys: readonly Record<string, unknown>[] };
}

/** What the secrets parameter holds until the host writes the real keys; the edge answers 503 meanwhile. */
export const EDGE_SECRETS_PLACEHOLDER = '{"unset":true}';

/** The edge's parameters, `/<name>/<environment>/edge/config` and `.../secrets`, from the prefix `/<name>/<environment>`. */
export function edgeParameterNames(pathPrefix: string): { readonly config: string; readonly secrets: string } {
  return { config: `${pathPrefix}/edge/config`, secrets: `${pathPrefix}/edge/secrets` };
}
