import type { PolicyCheck } from "../../types";
import { blocks, firstFailure, strings } from "../../graph";

/** Cognito user pools and app clients. */
export const COGNITO_CHECKS: readonly PolicyCheck[] = [
  {
    id: "OHT_COG_001",
    title: "User pools require 12+ character passwords of every class (cdk-nag COG1)",
    resourceTypes: ["aws_cognito_user_pool"],
    evaluate(r) {
      const p = blocks(r.body.password_policy)[0];
      if (!p) return "no password policy";
      const weak = ["require_lowercase", "require_uppercase", "require_numbers", "require_symbols"].filter((k) => p[k] !== true);
      return firstFailure(
        [Number(p.minimum_length ?? 8) < 12, `minimum_length is ${String(p.minimum_length ?? 8)}`],
        [weak.length > 0, `not required: ${weak.join(", ")}`],
      );
    },
  },
  {
    id: "OHT_COG_002",
    title: "User pools have TOTP MFA, on or optional, never SMS only (cdk-nag COG2, KICS Cognito UserPool Without MFA)",
    resourceTypes: ["aws_cognito_user_pool"],
    evaluate(r) {
      const mfa = String(r.body.mfa_configuration ?? "OFF");
      return firstFailure(
        [mfa === "OFF", "MFA is off: a leaked password is enough to sign in"],
        [blocks(r.body.software_token_mfa_configuration)[0]?.enabled !== true, "TOTP is not enabled"],
      );
    },
  },
  {
    id: "OHT_COG_003",
    title: "User pools have deletion protection and admin-only sign-up",
    resourceTypes: ["aws_cognito_user_pool"],
    evaluate: (r) =>
      firstFailure(
        [r.body.deletion_protection !== "ACTIVE", "deletion_protection is not ACTIVE: a destroy deletes every user"],
        [blocks(r.body.admin_create_user_config)[0]?.allow_admin_create_user_only !== true, "anyone who finds the login page can sign up"],
      ),
  },
  {
    id: "OHT_COG_004",
    title: "App clients use the authorization code flow only, with exact HTTPS callback URLs",
    resourceTypes: ["aws_cognito_user_pool_client"],
    evaluate(r) {
      const flows = strings(r.body.allowed_oauth_flows);
      const urls = [...strings(r.body.callback_urls), ...strings(r.body.logout_urls)];
      return firstFailure(
        // The implicit flow returns tokens in URL fragments (history, referrers, logs).
        [flows.length !== 1 || flows[0] !== "code", `allowed_oauth_flows are ${flows.join(", ") || "unset"}`],
        [urls.length === 0, "no callback or logout URLs"],
        // A wildcard or plain-HTTP callback lets a code be sent where an attacker can read it.
        [
          urls.some((u) => !u.startsWith("https://") || u.includes("*") || /localhost|127\.0\.0\.1/.test(u)),
          `callback or logout URL not exact HTTPS: ${urls.join(", ")}`,
        ],
      );
    },
  },
  {
    id: "OHT_COG_005",
    title: "App clients hide whether a user exists and can revoke tokens",
    resourceTypes: ["aws_cognito_user_pool_client"],
    evaluate: (r) =>
      firstFailure(
        [r.body.prevent_user_existence_errors !== "ENABLED", "prevent_user_existence_errors is not ENABLED (account enumeration)"],
        [r.body.enable_token_revocation === false, "token revocation is off: logout cannot end a stolen refresh token"],
      ),
  },
];
