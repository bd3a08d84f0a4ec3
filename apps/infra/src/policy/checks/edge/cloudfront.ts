import type { PolicyCheck } from "../../types";
import { blocks, cacheBehaviours, companions, firstFailure, referenced, strings } from "../../graph";

/** Managed `CachingDisabled` cache policy. */
const CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad";

/** CloudFront security policies of TLS 1.2 or newer (trivy AWS-0013, checkov CKV_AWS_174). */
const MODERN_TLS = /^TLSv1\.(2|3)_\d{4}$/;

const YEAR_SECONDS = 31_536_000;

/** CloudFront distributions, VPC origins and response headers policies. */
export const CLOUDFRONT_CHECKS: readonly PolicyCheck[] = [
  {
    id: "OHT_CF_001",
    title: "CloudFront distributions have a WAF web ACL (CKV_AWS_68, AWS-0011, cdk-nag CFR2)",
    resourceTypes: ["aws_cloudfront_distribution"],
    evaluate: (r) => (r.body.web_acl_id ? undefined : "no web_acl_id: requests reach the origin unfiltered"),
  },
  {
    id: "OHT_CF_002",
    title: "Viewers use HTTPS on every behaviour (CKV_AWS_34, AWS-0012)",
    resourceTypes: ["aws_cloudfront_distribution"],
    evaluate(r) {
      const plain = cacheBehaviours(r.body).find(
        (b) => !["redirect-to-https", "https-only"].includes(String(b.body.viewer_protocol_policy)),
      );
      return plain ? `${plain.label} allows ${String(plain.body.viewer_protocol_policy)}` : undefined;
    },
  },
  {
    id: "OHT_CF_003",
    title: "Viewers get TLS 1.2_2021 or newer on our own certificate (CKV_AWS_174, CKV2_AWS_42, AWS-0013, cdk-nag CFR4)",
    resourceTypes: ["aws_cloudfront_distribution"],
    evaluate(r) {
      const cert = blocks(r.body.viewer_certificate)[0] ?? {};
      const version = String(cert.minimum_protocol_version ?? "TLSv1");
      return firstFailure(
        [
          cert.cloudfront_default_certificate === true || !cert.acm_certificate_arn,
          "uses the default *.cloudfront.net certificate (TLSv1 only)",
        ],
        [!MODERN_TLS.test(version) || version < "TLSv1.2_2021", `minimum_protocol_version is ${version}`],
        [
          cert.ssl_support_method !== "sni-only",
          `ssl_support_method is ${String(cert.ssl_support_method)} (a dedicated IP costs $600 a month)`,
        ],
      );
    },
  },
  {
    id: "OHT_CF_004",
    title: "Origins are reached over HTTPS with TLS 1.2 only (CKV2_AWS_72, cdk-nag CFR5)",
    resourceTypes: ["aws_cloudfront_distribution"],
    evaluate(r) {
      for (const origin of blocks(r.body.origin)) {
        const vpc = blocks(origin.vpc_origin_config)[0];
        if (vpc) {
          const target = referenced(r, vpc.vpc_origin_id, "aws_cloudfront_vpc_origin");
          if (!target) return `origin ${String(origin.origin_id)}: its VPC origin is not in this stack, its protocol cannot be checked`;
          continue;
        }
        const custom = blocks(origin.custom_origin_config)[0];
        if (!custom) continue;
        const failure = firstFailure(
          [
            custom.origin_protocol_policy !== "https-only",
            `origin ${String(origin.origin_id)} uses ${String(custom.origin_protocol_policy)}`,
          ],
          [
            strings(custom.origin_ssl_protocols).some((p) => p !== "TLSv1.2"),
            `origin ${String(origin.origin_id)} allows ${strings(custom.origin_ssl_protocols).join(", ")}`,
          ],
        );
        if (failure) return failure;
      }
      return undefined;
    },
  },
  {
    id: "OHT_CF_005",
    title: "VPC origins speak HTTPS with TLS 1.2 only (CKV2_AWS_72)",
    resourceTypes: ["aws_cloudfront_vpc_origin"],
    evaluate(r) {
      const config = blocks(r.body.vpc_origin_endpoint_config)[0] ?? {};
      const protocols = blocks(config.origin_ssl_protocols).flatMap((p) => strings(p.items));
      return firstFailure(
        [
          config.origin_protocol_policy !== "https-only",
          `origin_protocol_policy is ${String(config.origin_protocol_policy)}: cookies and identity headers travel in clear`,
        ],
        [protocols.length === 0 || protocols.some((p) => p !== "TLSv1.2"), `origin_ssl_protocols are ${protocols.join(", ") || "unset"}`],
      );
    },
  },
  {
    id: "OHT_CF_006",
    title: "Every behaviour has a response headers policy (CKV2_AWS_32)",
    resourceTypes: ["aws_cloudfront_distribution"],
    evaluate(r) {
      const bare = cacheBehaviours(r.body).find((b) => !b.body.response_headers_policy_id);
      return bare ? `${bare.label} has no response headers policy` : undefined;
    },
  },
  {
    id: "OHT_CF_007",
    title: "Response headers policies send HSTS for a year or more and nosniff (CKV_AWS_259)",
    resourceTypes: ["aws_cloudfront_response_headers_policy"],
    evaluate(r) {
      const security = blocks(r.body.security_headers_config)[0] ?? {};
      const hsts = blocks(security.strict_transport_security)[0];
      return firstFailure(
        [!hsts, "no Strict-Transport-Security: a first plain-HTTP visit can be downgraded"],
        [
          Number(hsts?.access_control_max_age_sec ?? 0) < YEAR_SECONDS,
          `HSTS max-age is ${String(hsts?.access_control_max_age_sec)} s (expected a year or more)`,
        ],
        [blocks(security.content_type_options).length === 0, "no X-Content-Type-Options: nosniff"],
      );
    },
  },
  {
    id: "OHT_CF_008",
    title: "Every behaviour runs the viewer-request authentication function: nothing reaches the origin unauthenticated",
    resourceTypes: ["aws_cloudfront_distribution"],
    evaluate(r) {
      const open = cacheBehaviours(r.body).find(
        (b) => !blocks(b.body.lambda_function_association).some((a) => a.event_type === "viewer-request"),
      );
      return open ? `${open.label} has no viewer-request function` : undefined;
    },
  },
  {
    id: "OHT_CF_009",
    title: "Lambda@Edge associations name a published version, never $LATEST or an alias",
    resourceTypes: ["aws_cloudfront_distribution"],
    evaluate(r) {
      for (const b of cacheBehaviours(r.body)) {
        for (const a of blocks(b.body.lambda_function_association)) {
          const arn = String(a.lambda_arn);
          if (!/\.qualified_arn\}$/.test(arn) && !/:function:[^:]+:\d+$/.test(arn)) return `${b.label}: ${a.event_type} uses ${arn}`;
          // The body of a viewer event is capped at 40 KB and costs time: authentication needs headers only.
          if (a.include_body === true) return `${b.label}: ${a.event_type} receives the request body`;
        }
      }
      return undefined;
    },
  },
  {
    id: "OHT_CF_010",
    title: "Behaviours that cache share nothing per user: no cookies in the key or to the origin (cache poisoning, session leaks)",
    resourceTypes: ["aws_cloudfront_distribution"],
    evaluate(r) {
      for (const b of cacheBehaviours(r.body)) {
        const cachePolicyId = String(b.body.cache_policy_id ?? "");
        if (!cachePolicyId) return `${b.label} has no cache policy (legacy forwarded_values)`;
        if (cachePolicyId === CACHING_DISABLED) continue;
        const cache = referenced(r, cachePolicyId, "aws_cloudfront_cache_policy");
        if (!cache) return `${b.label} caches with a policy that is not in this stack`;
        const key = blocks(cache.parameters_in_cache_key_and_forwarded_to_origin)[0] ?? {};
        const cookies = blocks(key.cookies_config)[0]?.cookie_behavior;
        if (cookies !== "none") return `${b.label} keys its cache on cookies (${String(cookies)})`;
        const request = referenced(r, b.body.origin_request_policy_id, "aws_cloudfront_origin_request_policy");
        const forwarded = request ? blocks(request.cookies_config)[0]?.cookie_behavior : "unknown";
        if (forwarded !== "none") return `${b.label} caches responses to requests that carry cookies (${String(forwarded)})`;
      }
      return undefined;
    },
  },
  {
    id: "OHT_CF_011",
    title: "Access logs are delivered (CKV_AWS_86, AWS-0010, cdk-nag CFR3)",
    resourceTypes: ["aws_cloudfront_distribution"],
    evaluate(r) {
      if (blocks(r.body.logging_config).length > 0) return undefined;
      const sources = companions(r, "aws_cloudwatch_log_delivery_source");
      return sources.length > 0 ? undefined : "no logging_config and no log delivery source";
    },
  },
  {
    id: "OHT_CF_012",
    title: "No origin-request or origin-response Lambda@Edge on a behaviour whose origin is a VPC origin (CloudFront refuses them)",
    resourceTypes: ["aws_cloudfront_distribution"],
    evaluate(r) {
      const vpcOrigins = new Set(
        blocks(r.body.origin)
          .filter((o) => blocks(o.vpc_origin_config).length > 0)
          .map((o) => String(o.origin_id)),
      );
      for (const b of cacheBehaviours(r.body)) {
        if (!vpcOrigins.has(String(b.body.target_origin_id))) continue;
        const originEvent = blocks(b.body.lambda_function_association).find((a) => /^origin-/.test(String(a.event_type)));
        // The apply is refused, or the function never runs and its security headers are silently missing.
        if (originEvent)
          return `${b.label} runs an ${String(originEvent.event_type)} function on the VPC origin ${String(b.body.target_origin_id)}`;
      }
      return undefined;
    },
  },
  {
    id: "OHT_CF_013",
    title: "Every behaviour sends a Content-Security-Policy with frame-ancestors and a Referrer-Policy from its response headers policy",
    resourceTypes: ["aws_cloudfront_distribution"],
    evaluate(r) {
      for (const b of cacheBehaviours(r.body)) {
        const policy = referenced(r, b.body.response_headers_policy_id, "aws_cloudfront_response_headers_policy");
        if (!policy) return `${b.label}: its response headers policy is not in this stack, its headers cannot be checked`;
        const security = blocks(policy.security_headers_config)[0] ?? {};
        const csp = blocks(security.content_security_policy)[0];
        const referrer = blocks(security.referrer_policy)[0];
        // Without frame-ancestors another site can frame the page (clickjacking, fake login overlays).
        if (!/(^|;\s*)frame-ancestors\s/.test(String(csp?.content_security_policy ?? "")))
          return `${b.label}: no Content-Security-Policy with frame-ancestors`;
        if (csp?.override !== true) return `${b.label}: the origin's Content-Security-Policy would win (override is not true)`;
        // Runtime URLs can carry keys in their query: a referrer would hand them to other sites.
        if (!referrer?.referrer_policy) return `${b.label}: no Referrer-Policy`;
      }
      return undefined;
    },
  },
];
