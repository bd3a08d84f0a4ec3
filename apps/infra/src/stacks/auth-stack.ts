import type { Construct } from "constructs";
import type { DeploymentConfig } from "../config/schema";
import { EDGE_REGION } from "../config/names";
import { UserDirectory } from "../constructs/identity/user-directory";
import { DeploymentStack } from "./deployment-stack";

/** us-east-1: the Cognito user pool, its groups, the app client and the login domain. */
export class AuthStack extends DeploymentStack {
  readonly userPoolId: string;
  readonly userPoolArn: string;
  readonly userPoolClientId: string;
  /** Host of the login pages; known from the configuration, so reading it adds no cross-stack reference. */
  readonly loginDomain: string;

  constructor(scope: Construct, config: DeploymentConfig) {
    super(scope, "auth", { config, region: EDGE_REGION });
    const directory = new UserDirectory(this, "users", {
      namePrefix: this.names.prefix,
      appHost: config.domain.appHost,
      region: EDGE_REGION,
      domainPrefix: config.cognito.domainPrefix,
      displayName: config.cognito.displayName ?? `OpenHands ${config.name}`,
      customDomain: config.cognito.customDomain,
      // The schema only accepts a custom login host inside the apex.
      customDomainZoneId: config.cognito.customDomain ? config.domain.hostedZoneId : undefined,
      mfa: config.cognito.mfa,
      adminOnlySignUp: config.cognito.adminOnlySignUp,
      tokenMinutes: config.cognito.tokenMinutes,
      refreshTokenDays: config.cognito.refreshTokenDays,
    });
    this.userPoolId = directory.userPoolId;
    this.userPoolArn = directory.userPoolArn;
    this.userPoolClientId = directory.clientId;
    this.loginDomain = directory.loginDomain;
    this.operatorOutput("user_pool_id", directory.userPoolId, "Cognito user pool (us-east-1): add people with `pnpm users add <email>`");
    this.operatorOutput("login_url", `https://${directory.loginDomain}`, "Cognito login pages the app sends users to");
  }
}
