// The OIDC side: authorize URL, token endpoint client (with retries), and ID token verification with aws-jwt-verify.
import { JwtVerifier } from "aws-jwt-verify/jwt-verifier";
import { SimpleJwksCache } from "aws-jwt-verify/jwk";
import type { Fetcher } from "aws-jwt-verify/https";
import type { EdgeConfig, EdgeSecrets, Jwks } from "./config";
import { httpCall } from "./http-client";

export interface TokenSet {
  readonly idToken: string;
  readonly refreshToken?: string;
}

export type TokenResult =
  | { readonly ok: true; readonly tokens: TokenSet }
  /** The provider refused (4xx): a bad or used code, an expired or revoked refresh token. */
  | { readonly ok: false; readonly kind: "refused"; readonly status: number; readonly error: string }
  /** Network errors or 5xx after every retry. */
  | { readonly ok: false; readonly kind: "unavailable"; readonly detail: string };

export interface TokenClientOptions {
  readonly attempts?: number;
  readonly timeoutMs?: number;
  readonly backoffMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** POSTs to the token endpoint; retries network errors and 5xx, never 4xx. The whole budget stays inside the 5 s viewer timeout. */
export async function requestTokens(
  config: EdgeConfig,
  secrets: EdgeSecrets,
  form: Record<string, string>,
  options: TokenClientOptions = {},
): Promise<TokenResult> {
  const attempts = options.attempts ?? 3;
  const headers: Record<string, string> = { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" };
  const body = new URLSearchParams({ ...form, client_id: config.clientId });
  if (secrets.clientSecret !== undefined) {
    const basic = `${encodeURIComponent(config.clientId)}:${encodeURIComponent(secrets.clientSecret)}`;
    headers.Authorization = `Basic ${Buffer.from(basic).toString("base64")}`;
  }
  let detail = "";
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    if (attempt > 0) await sleep((options.backoffMs ?? 100) * 2 ** (attempt - 1) * (0.5 + Math.random() / 2));
    let status: number;
    let text: string;
    try {
      const answer = await httpCall(config.tokenUrl, {
        method: "POST",
        headers,
        body: body.toString(),
        timeoutMs: options.timeoutMs ?? 1500,
      });
      status = answer.status;
      text = answer.body.toString("utf8");
    } catch (error) {
      detail = `network: ${(error as Error).message}`;
      continue;
    }
    if (status >= 500) {
      detail = `status ${status}`;
      continue;
    }
    let parsed: Record<string, unknown> = {};
    try {
      const value: unknown = JSON.parse(text);
      if (typeof value === "object" && value !== null) parsed = value as Record<string, unknown>;
    } catch {
      // not JSON; handled below
    }
    if (status !== 200)
      return { ok: false, kind: "refused", status, error: typeof parsed.error === "string" ? parsed.error.slice(0, 100) : "unknown" };
    if (typeof parsed.id_token !== "string") return { ok: false, kind: "refused", status, error: "no id_token in the token response" };
    const tokens: TokenSet =
      typeof parsed.refresh_token === "string"
        ? { idToken: parsed.id_token, refreshToken: parsed.refresh_token }
        : { idToken: parsed.id_token };
    return { ok: true, tokens };
  }
  return { ok: false, kind: "unavailable", detail };
}

export function authorizeUrl(
  config: EdgeConfig,
  params: { redirectUri: string; state: string; nonce: string; codeChallenge: string },
): string {
  const url = new URL(config.authorizeUrl);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("client_id", config.clientId);
  url.searchParams.set("redirect_uri", params.redirectUri);
  url.searchParams.set("scope", config.scopes.join(" "));
  url.searchParams.set("state", params.state);
  url.searchParams.set("nonce", params.nonce);
  url.searchParams.set("code_challenge", params.codeChallenge);
  url.searchParams.set("code_challenge_method", "S256");
  return url.toString();
}

/** Cognito's hosted-UI logout: ends the login session, then returns to `logoutUri`. */
export function logoutUrl(config: EdgeConfig, returnTo: string): string {
  const url = new URL(config.logoutUrl);
  url.searchParams.set("client_id", config.clientId);
  url.searchParams.set("logout_uri", returnTo);
  return url.toString();
}

/** JWKS download (https, or http for a loopback test provider as the config allows); 1.5 s, inside the 5 s viewer budget. */
const jwksFetcher: Fetcher = {
  async fetch(uri) {
    const answer = await httpCall(uri, { timeoutMs: 1500 });
    if (answer.status !== 200) throw new Error(`JWKS download failed: status ${answer.status}`);
    return answer.body.buffer.slice(answer.body.byteOffset, answer.body.byteOffset + answer.body.byteLength) as ArrayBuffer;
  },
};

export interface IdTokenClaims {
  readonly sub: string;
  readonly email?: unknown;
  readonly nonce?: unknown;
  readonly exp: number;
  readonly [claim: string]: unknown;
}

export interface IdTokenVerifier {
  /** Throws an aws-jwt-verify error for anything but a valid ID token of our client. */
  verify(token: string): Promise<IdTokenClaims>;
  /**
   * The same checks with `exp` (and `nbf`) relaxed by `graceSeconds`: the refresh path asks who an expired session belonged to.
   * The signature, issuer, client and token_use are still checked.
   */
  verifyIgnoringExpiry(token: string, graceSeconds: number): Promise<IdTokenClaims>;
  /** Starts the JWKS download without waiting (cold start), unless the JWKS came with the secrets. */
  warmUp(): void;
}

/**
 * aws-jwt-verify's JwtVerifier with Cognito's ID token checks: signature by a key of the issuer's JWKS (RS/ES/EdDSA only, so
 * `alg: none` and HS256-with-the-public-key are refused), `iss`, `aud` = our client, `exp`/`nbf`, and `token_use` = "id".
 * `embedded` (the JWKS the host stored with the secrets) seeds the library's JWKS cache when it was downloaded from the configured
 * `jwksUri`: the first verification then needs no download, and a `kid` missing from it (a rotated key) is downloaded by the
 * library as usual, under its rate limit.
 */
export function createIdTokenVerifier(config: EdgeConfig, embedded?: { readonly uri: string; readonly keys: Jwks }): IdTokenVerifier {
  const verifier = JwtVerifier.create(
    {
      issuer: config.issuer,
      audience: config.clientId,
      jwksUri: config.jwksUri,
      customJwtCheck: ({ payload }) => {
        // Token confusion: an access token (token_use "access") is never a session.
        if (payload.token_use !== "id") throw new Error(`token_use is ${JSON.stringify(payload.token_use)}, expected "id"`);
      },
    },
    { jwksCache: new SimpleJwksCache({ fetcher: jwksFetcher }) },
  );
  // Keys of another issuer (a replaced pool, a JWKS planted for another URI): a stored JWKS counts only for the configured jwksUri.
  const seeded = embedded !== undefined && embedded.uri === config.jwksUri;
  if (seeded) verifier.cacheJwks(embedded.keys as Parameters<typeof verifier.cacheJwks>[0]);
  return {
    verify: async (token) => (await verifier.verify(token)) as unknown as IdTokenClaims,
    verifyIgnoringExpiry: async (token, graceSeconds) => (await verifier.verify(token, { graceSeconds })) as unknown as IdTokenClaims,
    warmUp: () => {
      if (!seeded) verifier.hydrate().catch(() => undefined);
    },
  };
}
