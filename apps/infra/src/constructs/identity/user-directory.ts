import { Construct } from "constructs";
import { CognitoUserPool } from "@cdktf/provider-aws/lib/cognito-user-pool";
import { CognitoUserPoolClient } from "@cdktf/provider-aws/lib/cognito-user-pool-client";
import { CognitoUserPoolDomain } from "@cdktf/provider-aws/lib/cognito-user-pool-domain";
import { DnsValidatedCertificate } from "../edge/dns-validated-certificate";
import { AliasRecords } from "../edge/alias-records";
import { EDGE_PATHS } from "../edge/edge-paths";

export type MfaMode = "off" | "optional" | "required";

/** The only OAuth scopes the edge asks for: identity and e-mail, nothing that reaches AWS APIs. */
export const LOGIN_SCOPES = ["openid", "email", "profile"] as const;

export interface UserDirectoryProps {
  /** `<name>-<environment>`, the prefix of the pool and client names. */
  readonly namePrefix: string;
  /** Host of the OpenHands app; the only callback and logout target. */
  readonly appHost: string;
  /** Region of the pool (Lambda@Edge reads its JWKS from there). */
  readonly region: string;
  /** Prefix of the Cognito-hosted login domain, `<prefix>.auth.<region>.amazoncognito.com`. */
  readonly domainPrefix: string;
  /**
   * A login host of our own (certificate and alias records in `customDomainZoneId`), used instead of the prefix domain.
   * @default none
   */
  readonly customDomain?: string;
  /** Route 53 zone of `customDomain`. Required with it. @default none */
  readonly customDomainZoneId?: string;
  /** TOTP MFA. @default "required" */
  readonly mfa?: MfaMode;
  /** Only administrators create users (no self sign-up). @default true */
  readonly adminOnlySignUp?: boolean;
  /** Access and ID token lifetime in minutes. @default 60 */
  readonly tokenMinutes?: number;
  /** Refresh token lifetime in days. @default 30 */
  readonly refreshTokenDays?: number;
}

/**
 * Cognito for one team: a user pool of administrator-created users who sign in with their e-mail address,
 * a strong password and TOTP, an app client for the authorization code flow
 * with PKCE (no client secret: nothing secret is generated into Terraform state), and the login domain.
 */
export class UserDirectory extends Construct {
  readonly userPoolId: string;
  readonly userPoolArn: string;
  readonly clientId: string;
  /** Host of the hosted login pages (`/oauth2/authorize`, `/oauth2/token`, `/logout`). */
  readonly loginDomain: string;
  readonly callbackUrl: string;
  readonly logoutUrl: string;

  constructor(scope: Construct, id: string, props: UserDirectoryProps) {
    super(scope, id);
    const mfa = props.mfa ?? "required";
    if (props.customDomain && !props.customDomainZoneId) {
      throw new Error(`UserDirectory: customDomain ${props.customDomain} needs customDomainZoneId (the Route 53 zone that holds it)`);
    }

    const pool = new CognitoUserPool(this, "pool", {
      name: `${props.namePrefix}-users`,
      // Essentials: managed login and per-MAU pricing with 10,000 free users a month.
      userPoolTier: "ESSENTIALS",
      deletionProtection: "ACTIVE",
      usernameAttributes: ["email"],
      autoVerifiedAttributes: ["email"],
      usernameConfiguration: { caseSensitive: false },
      // Self sign-up off: a stranger who finds the login page cannot create an account.
      adminCreateUserConfig: { allowAdminCreateUserOnly: props.adminOnlySignUp ?? true },
      // Long passwords of every character class, against guessing and credential stuffing.
      passwordPolicy: {
        minimumLength: 12,
        requireLowercase: true,
        requireUppercase: true,
        requireNumbers: true,
        requireSymbols: true,
        temporaryPasswordValidityDays: 3,
      },
      mfaConfiguration: { off: "OFF", optional: "OPTIONAL", required: "ON" }[mfa],
      // TOTP only: a stolen password alone does not sign in, and SMS (SIM swapping, cost) is never offered.
      ...(mfa === "off" ? {} : { softwareTokenMfaConfiguration: { enabled: true } }),
      accountRecoverySetting: { recoveryMechanism: [{ name: "verified_email", priority: 1 }] },
    });

    // No groups: nothing reads `cognito:groups` (every signed-in person gets their own OpenHands, and operators
    // manage people with `pnpm users`, which needs AWS credentials, not a group).
    this.callbackUrl = `https://${props.appHost}${EDGE_PATHS.callback}`;
    this.logoutUrl = `https://${props.appHost}/`;
    const client = new CognitoUserPoolClient(this, "app-client", {
      name: `${props.namePrefix}-app`,
      userPoolId: pool.id,
      generateSecret: false,
      supportedIdentityProviders: ["COGNITO"],
      allowedOauthFlowsUserPoolClient: true,
      // Authorization code only (with PKCE at the edge): no implicit flow that puts tokens into URLs.
      allowedOauthFlows: ["code"],
      allowedOauthScopes: [...LOGIN_SCOPES],
      // Exact URLs of the app host: Cognito refuses to send a code anywhere else (open redirect, code theft).
      callbackUrls: [this.callbackUrl],
      logoutUrls: [this.logoutUrl],
      defaultRedirectUri: this.callbackUrl,
      // Sign-in happens on the hosted pages; the client itself may only refresh.
      explicitAuthFlows: ["ALLOW_REFRESH_TOKEN_AUTH"],
      // The same answer for unknown and known users, against account enumeration.
      preventUserExistenceErrors: "ENABLED",
      enableTokenRevocation: true,
      // Minutes between password and TOTP code on the hosted pages: enough to enrol an authenticator app.
      authSessionValidity: 10,
      accessTokenValidity: props.tokenMinutes ?? 60,
      idTokenValidity: props.tokenMinutes ?? 60,
      refreshTokenValidity: props.refreshTokenDays ?? 30,
      tokenValidityUnits: [{ accessToken: "minutes", idToken: "minutes", refreshToken: "days" }],
    });

    new CognitoUserPoolDomain(this, "prefix-domain", {
      userPoolId: pool.id,
      domain: props.domainPrefix,
      // Version 1 (the classic hosted UI) works without a branding style.
      managedLoginVersion: 1,
    });
    this.loginDomain = `${props.domainPrefix}.auth.${props.region}.amazoncognito.com`;

    if (props.customDomain && props.customDomainZoneId) {
      const certificate = new DnsValidatedCertificate(this, "login-certificate", {
        domainName: props.customDomain,
        zoneIdByDomain: { [props.customDomain]: props.customDomainZoneId },
      });
      const custom = new CognitoUserPoolDomain(this, "custom-domain", {
        userPoolId: pool.id,
        domain: props.customDomain,
        certificateArn: certificate.certificateArn,
        managedLoginVersion: 1,
      });
      new AliasRecords(this, "login-records", {
        zoneId: props.customDomainZoneId,
        name: props.customDomain,
        targetDomainName: custom.cloudfrontDistribution,
        targetZoneId: custom.cloudfrontDistributionZoneId,
      });
      this.loginDomain = props.customDomain;
    }

    this.userPoolId = pool.id;
    this.userPoolArn = pool.arn;
    this.clientId = client.id;
  }
}
