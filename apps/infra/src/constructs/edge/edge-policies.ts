import { Construct } from "constructs";
import { CloudfrontCachePolicy } from "@cdktf/provider-aws/lib/cloudfront-cache-policy";
import { CloudfrontOriginRequestPolicy } from "@cdktf/provider-aws/lib/cloudfront-origin-request-policy";
import { CloudfrontResponseHeadersPolicy } from "@cdktf/provider-aws/lib/cloudfront-response-headers-policy";
import { IDENTITY_HEADERS } from "./edge-paths";
import { appContentSecurityPolicy, CSP_MAX_LENGTH, HSTS_SECONDS, runtimeContentSecurityPolicy } from "./security-headers";

/** AWS managed cache policy `Managed-CachingDisabled` (its id is the same in every account). */
export const CACHING_DISABLED_POLICY_ID = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad";

/** At most a year for hashed assets (their name changes with their content). */
const ASSET_MAX_TTL_SECONDS = 31_536_000;

export interface EdgePoliciesProps {
  /** Prefix of the policy names. */
  readonly namePrefix: string;
  /** Host of the OpenHands app: the one origin allowed to frame runtime hosts (the App tab). */
  readonly appHost: string;
  /** Runtime domain: the app's CSP lets it connect to and frame `*.<runtimeDomain>`. */
  readonly runtimeDomain: string;
}

/**
 * The CloudFront policies of both hosts.
 *
 * - dynamic requests: no caching; every viewer header (with Host: the proxy routes by it and the edge signs it,
 *   and the ALB's certificate covers both hosts, so TLS to the origin checks out), all cookies, all query strings,
 *   and with them the WebSocket handshake headers;
 * - hashed SPA assets (`/assets/*` on the app host): cached for everyone, keyed by path only, and only as long
 *   as the origin allows (default TTL 0), so a fallback page served for an unknown asset name is never kept;
 * - response headers, one policy per host: HSTS, nosniff, the host's Content-Security-Policy, framing and
 *   referrer rules (src/constructs/edge/security-headers.ts), replacing whatever the origin sends.
 */
export class EdgePolicies extends Construct {
  readonly dynamicOriginRequestPolicyId: string;
  readonly assetCachePolicyId: string;
  readonly assetOriginRequestPolicyId: string;
  readonly appResponseHeadersPolicyId: string;
  readonly runtimeResponseHeadersPolicyId: string;
  readonly cachingDisabledPolicyId = CACHING_DISABLED_POLICY_ID;

  constructor(scope: Construct, id: string, props: EdgePoliciesProps) {
    super(scope, id);
    this.dynamicOriginRequestPolicyId = new CloudfrontOriginRequestPolicy(this, "dynamic", {
      name: `${props.namePrefix}-dynamic`,
      comment: "OpenHands: every viewer header incl. Host and WebSocket handshake, all cookies, all query strings",
      headersConfig: { headerBehavior: "allViewer" },
      cookiesConfig: { cookieBehavior: "all" },
      queryStringsConfig: { queryStringBehavior: "all" },
    }).id;

    this.assetCachePolicyId = new CloudfrontCachePolicy(this, "assets-cache", {
      name: `${props.namePrefix}-hashed-assets`,
      comment: "OpenHands hashed SPA assets: path-only key, cached only as long as the origin's Cache-Control allows",
      minTtl: 0,
      defaultTtl: 0,
      maxTtl: ASSET_MAX_TTL_SECONDS,
      parametersInCacheKeyAndForwardedToOrigin: {
        // Nothing per user in the key: the same file for everyone, never a user's response for another.
        cookiesConfig: { cookieBehavior: "none" },
        headersConfig: { headerBehavior: "none" },
        queryStringsConfig: { queryStringBehavior: "none" },
        enableAcceptEncodingGzip: true,
        enableAcceptEncodingBrotli: true,
      },
    }).id;

    this.assetOriginRequestPolicyId = new CloudfrontOriginRequestPolicy(this, "assets-origin", {
      name: `${props.namePrefix}-hashed-assets`,
      comment: "OpenHands hashed SPA assets: Host and the signed identity only (the proxy routes by them); no cookies",
      headersConfig: { headerBehavior: "whitelist", headers: { items: ["Host", ...IDENTITY_HEADERS] } },
      cookiesConfig: { cookieBehavior: "none" },
      queryStringsConfig: { queryStringBehavior: "none" },
    }).id;

    const appCsp = appContentSecurityPolicy(props.runtimeDomain);
    const runtimeCsp = runtimeContentSecurityPolicy(props.appHost);
    for (const csp of [appCsp, runtimeCsp]) {
      if (csp.length > CSP_MAX_LENGTH)
        throw new Error(`EdgePolicies: a Content-Security-Policy of ${csp.length} characters exceeds CloudFront's ${CSP_MAX_LENGTH}`);
    }
    const strictTransportSecurity = { accessControlMaxAgeSec: HSTS_SECONDS, includeSubdomains: true, preload: false, override: true };
    const removeHeadersConfig = { items: [{ header: "Server" }, { header: "X-Powered-By" }] };

    this.appResponseHeadersPolicyId = new CloudfrontResponseHeadersPolicy(this, "app-headers", {
      name: `${props.namePrefix}-app`,
      comment: "OpenHands app host: HSTS, no sniffing, the app's CSP, never framed, same-origin referrers",
      securityHeadersConfig: {
        strictTransportSecurity,
        contentTypeOptions: { override: true },
        // Scripts, connections and frames only from the app and the runtime hosts (injected script, data theft).
        contentSecurityPolicy: { contentSecurityPolicy: appCsp, override: true },
        // Nothing frames the app, as the CSP's frame-ancestors 'none' says for older browsers too (clickjacking).
        frameOptions: { frameOption: "DENY", override: true },
        referrerPolicy: { referrerPolicy: "same-origin", override: true },
      },
      removeHeadersConfig,
    }).id;

    this.runtimeResponseHeadersPolicyId = new CloudfrontResponseHeadersPolicy(this, "runtime-headers", {
      name: `${props.namePrefix}-runtime`,
      comment: "OpenHands runtime hosts: sandbox content framed by the app only, no referrers",
      securityHeadersConfig: {
        strictTransportSecurity,
        contentTypeOptions: { override: true },
        // Sandbox pages may be framed by the app's App tab and nothing else (phishing, clickjacking); the
        // sandbox cannot loosen it, our header replaces its own.
        contentSecurityPolicy: { contentSecurityPolicy: runtimeCsp, override: true },
        // Runtime URLs can carry session keys in their query: never send them on to other sites.
        referrerPolicy: { referrerPolicy: "no-referrer", override: true },
      },
      removeHeadersConfig,
    }).id;
  }
}
