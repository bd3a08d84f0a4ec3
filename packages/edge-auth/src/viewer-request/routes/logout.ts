// /_auth/logout on the app host: clears the session and starts the pass through every remembered runtime host.
import type { CloudFrontRequest, CloudFrontResultResponse } from "aws-lambda";
import { COOKIE, clearCookie } from "../../shared/cookies";
import { confirmPage, redirect } from "../../shared/http";
import { logoutUrl } from "../../shared/oidc";
import { seal } from "../../shared/signed";
import type { GateContext } from "../context";
import { clearSession, rememberedRuntimeHosts, sameOriginOrUser } from "../session";

/** A logout's pass through the runtime hosts must finish within this time. */
export const LOGOUT_CHAIN_SECONDS = 120;

/**
 * Runtime cookies are host-only on each runtime host, out of the app host's reach: logout passes the browser through
 * every runtime host it was handed to (each clears its own cookie, routes/runtime-logout.ts), then to the provider's logout.
 */
export function logout(gate: GateContext, request: CloudFrontRequest, cookies: Map<string, string>): CloudFrontResultResponse {
  const method = request.method.toUpperCase();
  // Forced logout: another site's link or image must not sign the user out (POSTs passed the app's CSRF check above).
  if (method !== "POST" && !((method === "GET" || method === "HEAD") && sameOriginOrUser(request))) {
    return confirmPage(403, "Sign out?", "Another page asked to sign you out. Nothing was changed.", "/_auth/logout", "Sign out");
  }
  const hosts = rememberedRuntimeHosts(gate, cookies);
  const cleared = [...clearSession(), clearCookie(COOKIE.runtimes)];
  if (hosts.length === 0) return redirect(logoutUrl(gate.config, `${gate.appOrigin}/`), cleared);
  const chain = seal(gate.secrets.nonceKey, "logout", { h: hosts, x: gate.now() + LOGOUT_CHAIN_SECONDS });
  return redirect(`https://${hosts[0]}/_auth/runtime-logout?chain=${chain}`, cleared);
}
