// What every route of the viewer-request gate shares: the configuration, the keys, the clock, the ID token verifier and the
// per-container memory of spent nonces and tickets. Built once per configuration by createGate.
import type { CloudFrontRequest, CloudFrontResultResponse } from "aws-lambda";
import type { EdgeConfig, EdgeSecrets } from "../shared/config";
import { createIdTokenVerifier, type IdTokenVerifier, type TokenClientOptions } from "../shared/oidc";
import { UsedOnce } from "./used-once";

export type ViewerRequestResult = CloudFrontRequest | CloudFrontResultResponse;

export interface GateOptions {
  /** Unix seconds. @default Date.now()/1000 */
  readonly now?: () => number;
  readonly tokenClient?: TokenClientOptions;
  /** @default an aws-jwt-verify JwtVerifier for the configured issuer */
  readonly verifier?: IdTokenVerifier;
}

export interface GateContext {
  readonly config: EdgeConfig;
  readonly secrets: EdgeSecrets;
  readonly options: GateOptions;
  readonly now: () => number;
  readonly verifier: IdTokenVerifier;
  /** `https://<appHost>`. */
  readonly appOrigin: string;
  /** `https://<appHost>/_auth/callback`, the OAuth redirect URI. */
  readonly redirectUri: string;
  readonly spentNonces: UsedOnce;
  readonly spentTickets: UsedOnce;
  readonly runtimeSameSite: "Lax" | "None";
}

/** Two-label public suffixes under which unrelated parties register names (co.uk, com.au, ne.jp, ...). */
const SHARED_SECOND_LEVEL = /^(ac|co|com|edu|gen|go|gob|gov|info|ltd|mil|ne|net|nic|or|org|plc|sch)$/;

/**
 * True when the runtime domain and the app host are the same site (one registrable domain), judged without the Public Suffix
 * List: they share at least two labels, and two shared labels are not a `co.uk`-style public suffix. A private public suffix
 * (github.io style) would be judged same-site wrongly; the App tab's iframe then gets no cookie and visibly fails.
 */
export function runtimeIsSameSite(appHost: string, runtimeDomain: string): boolean {
  const a = appHost.split(".").reverse();
  const b = runtimeDomain.split(".").reverse();
  let shared = 0;
  while (shared < a.length && shared < b.length && a[shared] === b[shared]) shared += 1;
  if (shared >= 3) return true;
  return shared === 2 && !(a[0]!.length === 2 && SHARED_SECOND_LEVEL.test(a[1]!));
}

export function createContext(config: EdgeConfig, secrets: EdgeSecrets, options: GateOptions): GateContext {
  const verifier = options.verifier ?? createIdTokenVerifier(config, secrets.jwks);
  verifier.warmUp();
  const appOrigin = `https://${config.appHost}`;
  return {
    config,
    secrets,
    options,
    now: options.now ?? (() => Math.floor(Date.now() / 1000)),
    verifier,
    appOrigin,
    redirectUri: `${appOrigin}/_auth/callback`,
    spentNonces: new UsedOnce(),
    spentTickets: new UsedOnce(),
    /*
     * SameSite of the runtime cookies. Same site as the app (runtime.example.com next to app.example.com): Lax, so that no other
     * site's page, frame or subresource carries them; the app's iframe is same-site and still sends them. A separate
     * registrable domain: the App tab's iframe is then cross-site, where only SameSite=None cookies are sent, so None is the one
     * value that works; the Origin check on writes and WebSocket handshakes (runtime-host.ts) is what stops other sites there.
     */
    runtimeSameSite: runtimeIsSameSite(config.appHost, config.runtimeDomain) ? "Lax" : "None",
  };
}
