import type { Construct } from "constructs";
import { CognitoUserPool } from "@cdktf/provider-aws/lib/cognito-user-pool";
import { CognitoUserPoolClient } from "@cdktf/provider-aws/lib/cognito-user-pool-client";
import type { DeploymentConfig } from "../config/schema";
import { EDGE_REGION } from "../config/names";
import { DeploymentStack } from "./deployment-stack";

/** us-east-1: the Cognito user pool and its app client. */
export class AuthStack extends DeploymentStack {
  readonly userPoolId: string;
  readonly userPoolClientId: string;

  constructor(scope: Construct, config: DeploymentConfig) {
    super(scope, "auth", { config, region: EDGE_REGION });
    const pool = new CognitoUserPool(this, "users", {
      name: `${this.names.prefix}-users`,
      adminCreateUserConfig: { allowAdminCreateUserOnly: config.cognito.adminOnlySignUp },
    });
    const client = new CognitoUserPoolClient(this, "app-client", {
      name: `${this.names.prefix}-app`,
      userPoolId: pool.id,
      generateSecret: false,
    });
    this.userPoolId = pool.id;
    this.userPoolClientId = client.id;
  }
}
