import { Construct } from "constructs";
import { CloudfrontDistribution, type CloudfrontDistributionOrderedCacheBehavior } from "@cdktf/provider-aws/lib/cloudfront-distribution";
import type { AlbVpcOrigin } from "./vpc-origin";

/** Every method: OpenHands' REST API uses POST, PUT, PATCH and DELETE. */
const ALL_METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"];
const CACHED_METHODS = ["GET", "HEAD"];
/** CloudFront's limits without a quota increase: 60 s to wait for and keep the origin connection. */
const ORIGIN_TIMEOUT_SECONDS = 60;
const ORIGIN_ID = "alb";

/** The functions a behaviour runs: viewer events only (CloudFront refuses origin events on a VPC origin). */
export interface EdgeFunctionArns {
  /** Qualified ARN of the viewer-request function (authentication). */
  readonly viewerRequest: string;
}

/** A behaviour for a path pattern, ahead of the default one. */
export interface EdgeCacheBehavior {
  readonly pathPattern: string;
  readonly cachePolicyId: string;
  readonly originRequestPolicyId: string;
  /** @default "GET" and "HEAD" only */
  readonly allowedMethods?: readonly string[];
}

export interface EdgeDistributionProps {
  /** What the distribution serves, shown in the console. */
  readonly comment: string;
  /** Host names (alternate domain names); all must be on the certificate. */
  readonly aliases: readonly string[];
  /** us-east-1 ACM certificate of the aliases. */
  readonly certificateArn: string;
  /** WAF web ACL (CLOUDFRONT scope) ARN. */
  readonly webAclArn: string;
  readonly origin: AlbVpcOrigin;
  readonly functions: EdgeFunctionArns;
  /** Default behaviour: no caching. */
  readonly cachePolicyId: string;
  readonly originRequestPolicyId: string;
  readonly responseHeadersPolicyId: string;
  /** @default none */
  readonly cacheBehaviors?: readonly EdgeCacheBehavior[];
  /** @default "PriceClass_100" */
  readonly priceClass?: string;
  /** Serve IPv6 viewers. @default true */
  readonly ipv6?: boolean;
}

/**
 * A CloudFront distribution in front of the internal ALB's VPC origin: HTTPS only (TLS 1.2_2021 at least, SNI),
 * HTTP/2 and HTTP/3, IPv6, WAF attached, and on every behaviour the viewer-request function (authentication,
 * no request reaches the origin without it) and the host's response headers policy (security headers).
 */
export class EdgeDistribution extends Construct {
  readonly distributionId: string;
  readonly distributionArn: string;
  readonly domainName: string;
  readonly hostedZoneId: string;

  constructor(scope: Construct, id: string, props: EdgeDistributionProps) {
    super(scope, id);
    const lambdaFunctionAssociation = [
      // The body stays with CloudFront: authentication needs only headers, and the 1 MB viewer bundle stays small.
      { eventType: "viewer-request", lambdaArn: props.functions.viewerRequest, includeBody: false },
    ];
    const orderedCacheBehavior: CloudfrontDistributionOrderedCacheBehavior[] = (props.cacheBehaviors ?? []).map((b) => ({
      pathPattern: b.pathPattern,
      targetOriginId: ORIGIN_ID,
      viewerProtocolPolicy: "redirect-to-https",
      allowedMethods: [...(b.allowedMethods ?? CACHED_METHODS)],
      cachedMethods: CACHED_METHODS,
      cachePolicyId: b.cachePolicyId,
      originRequestPolicyId: b.originRequestPolicyId,
      responseHeadersPolicyId: props.responseHeadersPolicyId,
      compress: true,
      lambdaFunctionAssociation,
    }));

    const distribution = new CloudfrontDistribution(this, "distribution", {
      enabled: true,
      comment: props.comment,
      aliases: [...props.aliases],
      httpVersion: "http2and3",
      isIpv6Enabled: props.ipv6 ?? true,
      priceClass: props.priceClass ?? "PriceClass_100",
      webAclId: props.webAclArn,
      origin: [
        {
          originId: ORIGIN_ID,
          domainName: props.origin.domainName,
          vpcOriginConfig: {
            vpcOriginId: props.origin.vpcOriginId,
            originReadTimeout: ORIGIN_TIMEOUT_SECONDS,
            originKeepaliveTimeout: ORIGIN_TIMEOUT_SECONDS,
          },
        },
      ],
      defaultCacheBehavior: {
        targetOriginId: ORIGIN_ID,
        // Plain HTTP is answered with a redirect; no page or cookie is ever served over it.
        viewerProtocolPolicy: "redirect-to-https",
        allowedMethods: ALL_METHODS,
        cachedMethods: CACHED_METHODS,
        cachePolicyId: props.cachePolicyId,
        originRequestPolicyId: props.originRequestPolicyId,
        responseHeadersPolicyId: props.responseHeadersPolicyId,
        compress: true,
        lambdaFunctionAssociation,
      },
      ...(orderedCacheBehavior.length ? { orderedCacheBehavior } : {}),
      viewerCertificate: {
        acmCertificateArn: props.certificateArn,
        sslSupportMethod: "sni-only",
        // No TLS 1.0/1.1 and no weak ciphers towards viewers (downgrade attacks).
        minimumProtocolVersion: "TLSv1.2_2021",
      },
      restrictions: { geoRestriction: { restrictionType: "none" } },
    });
    this.distributionId = distribution.id;
    this.distributionArn = distribution.arn;
    this.domainName = distribution.domainName;
    this.hostedZoneId = distribution.hostedZoneId;
  }
}
