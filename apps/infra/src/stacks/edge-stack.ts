import type { Construct } from "constructs";
import type { DeploymentConfig } from "../config/schema";
import { EDGE_REGION } from "../config/names";
import { DistributionAccessLogs } from "../constructs/observability/access-logs";
import { AliasRecords } from "../constructs/edge/alias-records";
import { DnsValidatedCertificate } from "../constructs/edge/dns-validated-certificate";
import { EdgeDistribution } from "../constructs/edge/edge-distribution";
import { EdgeFunctions } from "../constructs/edge/edge-functions";
import { EdgeParameters, edgeConfigDocument } from "../constructs/edge/edge-parameters";
import { EdgePolicies } from "../constructs/edge/edge-policies";
import { LOGIN_SCOPES } from "../constructs/identity/user-directory";
import { AlbVpcOrigin } from "../constructs/edge/vpc-origin";
import { EdgeWebAcl } from "../constructs/edge/web-acl";
import { DeploymentStack } from "./deployment-stack";
import type { AuthStack } from "./auth-stack";
import type { ComputeStack } from "./compute-stack";
import type { NetworkStack } from "./network-stack";

/** Logical id the edge certificate's validation records had while this stack wrote them (cdktf's id of `edge/certificate/validation`). */
export const FORMER_VALIDATION_RECORDS = "certificate_validation_5EC41E25";

export interface EdgeStackProps {
  readonly network: NetworkStack;
  readonly auth: AuthStack;
  readonly compute: ComputeStack;
  /** Folder of @openhands-team/edge-auth (tests). @default resolved from the workspace */
  readonly edgeAuthPackageRoot?: string;
}

/**
 * us-east-1: certificate, WAF, Lambda@Edge, CloudFront and DNS.
 *
 * Two distributions share the certificate, the web ACL, the functions and the VPC origin: one for the app host,
 * one for the runtime wildcard. CloudFront's cache key does not contain the host, so on a shared distribution a
 * sandbox could place its own `/assets/...` into the app's cache; apart, the runtime side caches nothing and
 * gets its own, stricter response headers.
 */
export class EdgeStack extends DeploymentStack {
  readonly edgeConfigParameterName: string;
  readonly edgeSecretsParameterName: string;
  /** The app host's distribution (alarms watch this one first). */
  readonly distributionId: string;
  /** The runtime wildcard's distribution. */
  readonly runtimeDistributionId: string;
  /** Both, app first. */
  readonly distributionIds: readonly string[];
  readonly webAclName: string;
  readonly webAclArn: string;
  /** Names of the web ACL's rules in priority order (metric names are `<webAclName>-...`). */
  readonly webAclRuleNames: readonly string[];
  readonly edgeFunctionNames: readonly string[];

  constructor(scope: Construct, config: DeploymentConfig, props: EdgeStackProps) {
    super(scope, "edge", { config, region: EDGE_REGION });
    const prefix = this.names.prefix;
    const appHost = config.domain.appHost;
    const runtimeDomain = config.domain.runtime.domain;
    const runtimeWildcard = `*.${runtimeDomain}`;
    const logRetentionDays = config.monitoring.logRetentionDays;
    // An allow list of IPv4 ranges only would block every IPv6 viewer, even one inside an allowed office: then
    // the distributions serve IPv4 only and no AAAA record is published.
    const ipv6 = config.edge.allowedCidrs.length === 0 || config.edge.allowedCidrs.some((cidr) => cidr.includes(":"));

    const certificate = new DnsValidatedCertificate(this, "certificate", {
      domainName: appHost,
      subjectAlternativeNames: [runtimeWildcard],
      zoneIdByDomain: { [appHost]: config.domain.hostedZoneId, [runtimeWildcard]: this.names.runtimeZoneId },
      // The compute stack's regional certificate has the same names, so the same validation records: it owns them
      // (it is applied first), and this certificate waits for validation through them.
      validationRecords: "shared",
    });
    // Deployments from before kept a copy of those records in this stack's state: forget it without deleting the
    // records in Route 53 (the compute stack's certificate renews through them).
    this.addOverride("removed", [{ from: `aws_route53_record.${FORMER_VALIDATION_RECORDS}`, lifecycle: { destroy: false } }]);

    const webAcl = new EdgeWebAcl(this, "waf", {
      name: this.names.webAclName,
      rateLimitPer5Minutes: config.edge.rateLimitPer5Minutes,
      allowedCidrs: config.edge.allowedCidrs,
      logging: config.edge.accessLogs,
      logRetentionDays,
    });

    const parameters = new EdgeParameters(this, "parameters", {
      configName: this.names.edgeConfigParameter,
      secretsName: this.names.edgeSecretsParameter,
      config: edgeConfigDocument({
        appHost,
        runtimeDomain,
        region: EDGE_REGION,
        userPoolId: props.auth.userPoolId,
        clientId: props.auth.userPoolClientId,
        loginDomain: props.auth.loginDomain,
        scopes: LOGIN_SCOPES,
        refreshTokenDays: config.cognito.refreshTokenDays,
      }),
    });

    const functions = new EdgeFunctions(this, "functions", {
      namePrefix: prefix,
      parameterArns: [parameters.configArn, parameters.secretsArn],
      logRetentionDays,
      bundlePackageRoot: props.edgeAuthPackageRoot,
    });
    const functionArns = { viewerRequest: functions.viewerRequest.qualifiedArn };

    const origin = new AlbVpcOrigin(this, "origin", {
      name: this.names.vpcOriginName,
      albArn: props.compute.albArn,
      albDnsName: props.compute.albDnsName,
    });
    const policies = new EdgePolicies(this, "policies", { namePrefix: prefix, appHost, runtimeDomain });
    const shared = {
      certificateArn: certificate.certificateArn,
      webAclArn: webAcl.webAclArn,
      origin,
      functions: functionArns,
      cachePolicyId: policies.cachingDisabledPolicyId,
      originRequestPolicyId: policies.dynamicOriginRequestPolicyId,
      priceClass: config.edge.priceClass,
      ipv6,
    };
    const app = new EdgeDistribution(this, "app", {
      ...shared,
      comment: `${prefix}: OpenHands app ${appHost}`,
      aliases: [appHost],
      responseHeadersPolicyId: policies.appResponseHeadersPolicyId,
      cacheBehaviors: [
        {
          pathPattern: "/assets/*",
          cachePolicyId: policies.assetCachePolicyId,
          originRequestPolicyId: policies.assetOriginRequestPolicyId,
        },
      ],
    });
    const runtime = new EdgeDistribution(this, "runtime", {
      ...shared,
      comment: `${prefix}: sandboxes ${runtimeWildcard}`,
      aliases: [runtimeWildcard],
      responseHeadersPolicyId: policies.runtimeResponseHeadersPolicyId,
    });

    new AliasRecords(this, "app-records", {
      zoneId: config.domain.hostedZoneId,
      name: appHost,
      targetDomainName: app.domainName,
      targetZoneId: app.hostedZoneId,
      ipv6,
    });
    new AliasRecords(this, "runtime-records", {
      zoneId: this.names.runtimeZoneId,
      name: runtimeWildcard,
      targetDomainName: runtime.domainName,
      targetZoneId: runtime.hostedZoneId,
      ipv6,
    });

    let accessLogGroup: string | undefined;
    if (config.edge.accessLogs) {
      accessLogGroup = new DistributionAccessLogs(this, "access-logs", {
        namePrefix: prefix,
        logGroupName: this.names.cloudFrontLogGroup,
        retentionDays: logRetentionDays,
        distributions: { app: app.distributionArn, runtime: runtime.distributionArn },
      }).logGroupName;
    }

    this.edgeConfigParameterName = parameters.configName;
    this.edgeSecretsParameterName = parameters.secretsName;
    this.distributionId = app.distributionId;
    this.runtimeDistributionId = runtime.distributionId;
    this.distributionIds = [app.distributionId, runtime.distributionId];
    this.webAclName = webAcl.webAclName;
    this.webAclArn = webAcl.webAclArn;
    this.webAclRuleNames = webAcl.ruleNames;
    this.edgeFunctionNames = [functions.viewerRequest.functionName];

    this.operatorOutput("app_url", `https://${appHost}`, "The OpenHands app");
    this.operatorOutput("runtime_domain", runtimeDomain, "Sandboxes are served on <port>-<user>.<runtime domain>");
    this.operatorOutput(
      "distribution_ids",
      { app: app.distributionId, runtime: runtime.distributionId },
      "CloudFront distributions (cache invalidation, metrics)",
    );
    this.operatorOutput(
      "log_groups",
      {
        // Replicas log in the region that served the viewer, under this name in each region.
        edgeFunction: functions.viewerRequest.logGroupName,
        ...(accessLogGroup ? { cloudFront: accessLogGroup } : {}),
        ...(webAcl.logGroupName ? { waf: webAcl.logGroupName } : {}),
      },
      "CloudWatch log groups of the edge (us-east-1; the function also logs in other regions where it ran)",
    );
  }
}
