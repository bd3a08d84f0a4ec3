import { exampleConfig, synthDeployment } from "../support/template";
import { all, one, onlyOf, synthAuthOnly } from "../support/template";

describe("GIVEN the example configuration WHEN the auth stack is synthesized", () => {
  const synth = synthDeployment();
  const pool = () => one(synth, "auth", "aws_cognito_user_pool");
  const client = () => one(synth, "auth", "aws_cognito_user_pool_client");

  it("THEN it runs in us-east-1", () => {
    expect(synth.stack("auth").provider.aws[0].region).toBe("us-east-1");
  });

  it("THEN only administrators create users (no self sign-up)", () => {
    expect(pool().admin_create_user_config).toEqual({ allow_admin_create_user_only: true });
  });

  it("THEN users sign in with their e-mail address, case-insensitively, and it is verified", () => {
    expect(pool().username_attributes).toEqual(["email"]);
    expect(pool().auto_verified_attributes).toEqual(["email"]);
    expect(pool().username_configuration).toEqual({ case_sensitive: false });
  });

  it("THEN passwords are 12+ characters of every class and temporary ones expire in 3 days", () => {
    expect(pool().password_policy).toEqual({
      minimum_length: 12,
      require_lowercase: true,
      require_uppercase: true,
      require_numbers: true,
      require_symbols: true,
      temporary_password_validity_days: 3,
    });
  });

  it("THEN TOTP MFA is required (config mfa: required) and SMS is not configured", () => {
    expect(pool().mfa_configuration).toBe("ON");
    expect(pool().software_token_mfa_configuration).toEqual({ enabled: true });
    expect(pool().sms_configuration).toBeUndefined();
  });

  it("THEN the pool is protected from deletion and recovers accounts by verified e-mail only", () => {
    expect(pool().deletion_protection).toBe("ACTIVE");
    expect(pool().account_recovery_setting).toEqual({ recovery_mechanism: [{ name: "verified_email", priority: 1 }] });
  });

  it("THEN the pool is on the Essentials tier and named after the deployment", () => {
    expect(pool().user_pool_tier).toBe("ESSENTIALS");
    expect(pool().name).toBe("openhands-prod-users");
  });

  it("THEN the pool has no groups (nothing reads cognito:groups)", () => {
    expect(all(synth, "auth", "aws_cognito_user_group")).toEqual([]);
  });

  it("THEN the app client uses the authorization code flow only, with no client secret", () => {
    expect(client().allowed_oauth_flows).toEqual(["code"]);
    expect(client().allowed_oauth_flows_user_pool_client).toBe(true);
    expect(client().generate_secret).toBe(false);
    expect(client().supported_identity_providers).toEqual(["COGNITO"]);
  });

  it("THEN the app client asks for openid, email and profile only", () => {
    expect(client().allowed_oauth_scopes).toEqual(["openid", "email", "profile"]);
  });

  it("THEN the callback is the app host's /_auth/callback and logout returns to the app host", () => {
    expect(client().callback_urls).toEqual(["https://openhands.example.com/_auth/callback"]);
    expect(client().default_redirect_uri).toBe("https://openhands.example.com/_auth/callback");
    expect(client().logout_urls).toEqual(["https://openhands.example.com/"]);
  });

  it("THEN token lifetimes come from the configuration (60 minutes, 30 days)", () => {
    expect(client().access_token_validity).toBe(60);
    expect(client().id_token_validity).toBe(60);
    expect(client().refresh_token_validity).toBe(30);
    expect(client().token_validity_units).toEqual([{ access_token: "minutes", id_token: "minutes", refresh_token: "days" }]);
  });

  it("THEN the client hides unknown users, can revoke tokens and only refreshes by itself", () => {
    expect(client().prevent_user_existence_errors).toBe("ENABLED");
    expect(client().enable_token_revocation).toBe(true);
    expect(client().explicit_auth_flows).toEqual(["ALLOW_REFRESH_TOKEN_AUTH"]);
    expect(client().auth_session_validity).toBe(10);
  });

  it("THEN the login domain is the configured prefix on the hosted UI", () => {
    expect(one(synth, "auth", "aws_cognito_user_pool_domain")).toEqual(
      expect.objectContaining({ domain: "openhands-example-login", managed_login_version: 1 }),
    );
  });

  it("THEN the pool id and client id are outputs for the edge stack", () => {
    const outputs = JSON.stringify(synth.stack("auth").output);
    expect(outputs).toContain("aws_cognito_user_pool.");
    expect(outputs).toContain("aws_cognito_user_pool_client.");
  });
});

describe("GIVEN other Cognito settings in the configuration", () => {
  it("WHEN MFA is optional THEN the pool offers TOTP without requiring it", () => {
    const pool = onlyOf(synthAuthOnly(exampleConfig((raw) => (raw.cognito.mfa = "optional"))), "aws_cognito_user_pool");
    expect(pool.mfa_configuration).toBe("OPTIONAL");
    expect(pool.software_token_mfa_configuration).toEqual({ enabled: true });
  });

  it("WHEN MFA is off THEN no software token configuration is written", () => {
    const pool = onlyOf(synthAuthOnly(exampleConfig((raw) => (raw.cognito.mfa = "off"))), "aws_cognito_user_pool");
    expect(pool.mfa_configuration).toBe("OFF");
    expect(pool.software_token_mfa_configuration).toBeUndefined();
  });

  it("WHEN token lifetimes are set THEN the client uses them", () => {
    const config = exampleConfig((raw) => Object.assign(raw.cognito, { tokenMinutes: 15, refreshTokenDays: 7 }));
    const client = onlyOf(synthAuthOnly(config), "aws_cognito_user_pool_client");
    expect([client.access_token_validity, client.id_token_validity, client.refresh_token_validity]).toEqual([15, 15, 7]);
  });

  it("WHEN self sign-up is allowed THEN the pool says so (and the policy suite will flag it)", () => {
    const pool = onlyOf(synthAuthOnly(exampleConfig((raw) => (raw.cognito.adminOnlySignUp = false))), "aws_cognito_user_pool");
    expect(pool.admin_create_user_config).toEqual({ allow_admin_create_user_only: false });
  });
});
