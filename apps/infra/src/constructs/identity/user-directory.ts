import { Construct } from "constructs";
import { CognitoUserPool } from "@cdktf/provider-aws/lib/cognito-user-pool";
import { CognitoUserPoolClient } from "@cdktf/provider-aws/lib/cognito-user-pool-client";
import { CognitoUserPoolDomain } from "@cdktf/provider-aws/lib/cognito-user-pool-domain";
import { CognitoUserPoolUiCustomization } from "@cdktf/provider-aws/lib/cognito-user-pool-ui-customization";
import { DnsValidatedCertificate } from "../edge/dns-validated-certificate";
import { AliasRecords } from "../edge/alias-records";
import { EDGE_PATHS } from "../edge/edge-paths";
import { LOGO_TEXT_PATTERN, loginLogoPng } from "./login-logo";

export type MfaMode = "off" | "optional" | "required";

/** The hosted UI's customisable classes in the colours of the project's pages (Cognito accepts only these classes). */
export const LOGIN_PAGE_CSS = [
  ".background-customizable { background-color: #f6f7f9; }",
  ".banner-customizable { background-color: #ffffff; padding: 20px 0px 12px 0px; }",
  ".logo-customizable { max-width: 90%; max-height: 60px; }",
  ".label-customizable { font-weight: 600; color: #1d2430; }",
  ".textDescription-customizable { color: #5b6472; }",
  ".submitButton-customizable { background-color: #2f5bd3; font-weight: 600; }",
  ".submitButton-customizable:hover { background-color: #244aae; }",
  ".inputField-customizable { border-color: #dde1e7; }",
].join("\n");

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
   * The deployment's name on the login page (its logo, drawn from the text; letters, digits, spaces, dots, hyphens).
   * @default "OpenHands"
   */
  readonly displayName?: string;
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

    const prefixDomain = new CognitoUserPoolDomain(this, "prefix-domain", {
      userPoolId: pool.id,
      domain: props.domainPrefix,
      // Version 1 (the classic hosted UI) works without a branding style.
      managedLoginVersion: 1,
    });
    this.loginDomain = `${props.domainPrefix}.auth.${props.region}.amazoncognito.com`;

    // Branding of the hosted login page. AWS provider 5.100 has no aws_cognito_managed_login_branding (managed login
    // version 2; it came with provider 6), so the classic hosted UI (version 1) is branded: the deployment's name as
    // the logo image, and the colours of the project's own pages (packages/contracts src/pages.ts).
    const displayName = props.displayName ?? "OpenHands";
    if (!LOGO_TEXT_PATTERN.test(displayName)) {
      throw new Error(`UserDirectory: displayName ${JSON.stringify(displayName)} is not 1-32 letters, digits, spaces, dots or hyphens`);
    }
    new CognitoUserPoolUiCustomization(this, "login-branding", {
      userPoolId: pool.id,
      imageFile: loginLogoPng(displayName).toString("base64"),
      css: LOGIN_PAGE_CSS,
      // Cognito accepts a customization only once the pool has a domain.
      dependsOn: [prefixDomain],
    });

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
