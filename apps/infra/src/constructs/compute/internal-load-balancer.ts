import { Construct } from "constructs";
import { Fn, TerraformIterator } from "cdktf";
import { AcmCertificate } from "@cdktf/provider-aws/lib/acm-certificate";
import { AcmCertificateValidation } from "@cdktf/provider-aws/lib/acm-certificate-validation";
import { Lb } from "@cdktf/provider-aws/lib/lb";
import { LbListener } from "@cdktf/provider-aws/lib/lb-listener";
import { LbTargetGroup } from "@cdktf/provider-aws/lib/lb-target-group";
import { Route53Record } from "@cdktf/provider-aws/lib/route53-record";

/** TLS 1.3 with TLS 1.2 fallback, forward secrecy only. */
export const ALB_TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";
/** Seconds an idle connection (a quiet WebSocket) stays open; OpenHands' socket.io pings every 25 s. */
export const ALB_IDLE_TIMEOUT_SECONDS = 3600;
/** The proxy's health endpoint (docs/CONTRACTS.md). */
export const HEALTH_CHECK_PATH = "/_oh/health";
/**
 * The path answers non-200 only when nginx or the spawner process is gone or hung, not on a database outage
 * (packages/runtime-proxy README "Health"). The host watchdog restarts the stack after three failed checks 30 s apart
 * (about 90 s) and the restart takes 30-90 s more; the target is marked unhealthy (and the Auto Scaling group
 * replaces the host) only after HEALTH_CHECK_UNHEALTHY_THRESHOLD x HEALTH_CHECK_INTERVAL_SECONDS = 300 s of
 * failures in a row, so a watchdog restart never triggers a replacement (docs/operations.md).
 */
export const HEALTH_CHECK_INTERVAL_SECONDS = 30;
export const HEALTH_CHECK_TIMEOUT_SECONDS = 10;
export const HEALTH_CHECK_UNHEALTHY_THRESHOLD = 10;
export const HEALTH_CHECK_HEALTHY_THRESHOLD = 2;
/** The longest watchdog detection plus restart (3 x 30 s + 90 s) the ALB must sit out. */
export const WATCHDOG_RECOVERY_SECONDS = 3 * 30 + 90;

export interface InternalLoadBalancerProps {
  /** Names of the ALB and target group (32 characters at most). */
  readonly albName: string;
  readonly targetGroupName: string;
  readonly vpcId: string;
  readonly subnetIds: readonly string[];
  readonly securityGroupId: string;
  /** The app host, served by the certificate. */
  readonly appHost: string;
  /** The runtime domain; the certificate covers `*.<runtimeDomain>`. */
  readonly runtimeDomain: string;
  /** Route 53 zone of the app host (DNS validation). */
  readonly appZoneId: string;
  /** Route 53 zone of the runtime domain (DNS validation). */
  readonly runtimeZoneId: string;
  /** Port of the proxy on the host. */
  readonly targetPort: number;
}

/**
 * The internal ALB, CloudFront's VPC origin.
 *
 * Arrangement for a VPC origin: the ALB is internal (private subnets, no public address) and listens on
 * HTTPS only. CloudFront connects to it over TLS and forwards the viewer's Host, so the listener presents a
 * certificate of this region for the app host and `*.<runtime domain>`, DNS-validated in Route 53; the
 * us-east-1 certificate on the distribution is a different one. TLS ends here; the hop to the host's proxy
 * (port 8080) stays inside the VPC. Invalid header fields are dropped (request smuggling), the desync
 * mitigation is strictest, and the idle timeout is long enough for WebSockets.
 */
export class InternalLoadBalancer extends Construct {
  readonly albArn: string;
  readonly albArnSuffix: string;
  readonly albDnsName: string;
  readonly albZoneId: string;
  readonly targetGroupArn: string;
  readonly targetGroupArnSuffix: string;
  readonly listenerArn: string;
  readonly certificateArn: string;

  constructor(scope: Construct, id: string, props: InternalLoadBalancerProps) {
    super(scope, id);
    const wildcard = `*.${props.runtimeDomain}`;
    const certificate = new AcmCertificate(this, "certificate", {
      domainName: props.appHost,
      subjectAlternativeNames: [wildcard],
      validationMethod: "DNS",
      keyAlgorithm: "EC_prime256v1",
      lifecycle: { createBeforeDestroy: true },
    });
    // ACM asks for the same validation record for a name in every region of an account: this stack owns the records
    // of both names, and the edge stack's us-east-1 certificate for the same names validates through them.
    // allow_overwrite adopts a record an earlier deployment's edge stack wrote.
    // Static keys (the two names) and a lookup into the validation options: `for_each` over the options
    // themselves (cdktf's fromComplexList wraps them in tolist()) is unknown until apply, and the offline plan fails.
    const domains = TerraformIterator.fromList([props.appHost, wildcard]);
    const byDomain = `{ for option in ${certificate.fqn}.domain_validation_options : option.domain_name => option }`;
    const option = (attribute: string) => `\${${byDomain}[each.key].${attribute}}`;
    const records = new Route53Record(this, "validation-record", {
      forEach: domains,
      zoneId: Fn.lookup({ [props.appHost]: props.appZoneId, [wildcard]: props.runtimeZoneId }, domains.key),
      name: option("resource_record_name"),
      type: option("resource_record_type"),
      records: [option("resource_record_value")],
      ttl: 300,
      allowOverwrite: true,
    });
    const validated = new AcmCertificateValidation(this, "validated", {
      certificateArn: certificate.arn,
      dependsOn: [records],
    });
    const alb = new Lb(this, "alb", {
      name: props.albName,
      internal: true,
      loadBalancerType: "application",
      subnets: [...props.subnetIds],
      securityGroups: [props.securityGroupId],
      // Request smuggling and header injection: malformed header names are dropped, ambiguous requests refused.
      dropInvalidHeaderFields: true,
      desyncMitigationMode: "strictest",
      idleTimeout: ALB_IDLE_TIMEOUT_SECONDS,
      enableHttp2: true,
      preserveHostHeader: true,
      xffHeaderProcessingMode: "append",
      ipAddressType: "ipv4",
    });
    const targets = new LbTargetGroup(this, "targets", {
      name: props.targetGroupName,
      vpcId: props.vpcId,
      port: props.targetPort,
      protocol: "HTTP",
      targetType: "instance",
      deregistrationDelay: "30",
      healthCheck: {
        enabled: true,
        path: HEALTH_CHECK_PATH,
        port: "traffic-port",
        protocol: "HTTP",
        matcher: "200",
        interval: HEALTH_CHECK_INTERVAL_SECONDS,
        timeout: HEALTH_CHECK_TIMEOUT_SECONDS,
        healthyThreshold: HEALTH_CHECK_HEALTHY_THRESHOLD,
        unhealthyThreshold: HEALTH_CHECK_UNHEALTHY_THRESHOLD,
      },
      stickiness: { type: "lb_cookie", enabled: false },
    });
    const listener = new LbListener(this, "https", {
      loadBalancerArn: alb.arn,
      port: 443,
      protocol: "HTTPS",
      // Downgrade to weak protocols or ciphers: TLS 1.2+ with forward secrecy only.
      sslPolicy: ALB_TLS_POLICY,
      certificateArn: validated.certificateArn,
      defaultAction: [{ type: "forward", targetGroupArn: targets.arn }],
    });
    this.albArn = alb.arn;
    this.albArnSuffix = alb.arnSuffix;
    this.albDnsName = alb.dnsName;
    this.albZoneId = alb.zoneId;
    this.targetGroupArn = targets.arn;
    this.targetGroupArnSuffix = targets.arnSuffix;
    this.listenerArn = listener.arn;
    this.certificateArn = validated.certificateArn;
  }
}
