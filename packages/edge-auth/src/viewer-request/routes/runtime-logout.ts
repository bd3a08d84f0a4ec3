// /_auth/runtime-logout on a runtime host: one hop of a logout chain (clears this host's cookies, sends the browser on).
import type { CloudFrontRequest, CloudFrontResultResponse } from "aws-lambda";
import { COOKIE, clearCookie } from "../../shared/cookies";
import { classifyHost } from "../../shared/hosts";
import { page, redirect } from "../../shared/http";
import { logoutUrl } from "../../shared/oidc";
import { unseal } from "../../shared/signed";
import type { GateContext } from "../context";
import { sameOriginOrUser } from "../session";

export function runtimeLogout(
  gate: GateContext,
  request: CloudFrontRequest,
  _cookies: Map<string, string>,
  host: string,
): CloudFrontResultResponse {
  const { config, appOrigin, runtimeSameSite } = gate;
  const cleared = [clearCookie(COOKIE.runtime, "/", runtimeSameSite), clearCookie(COOKIE.runtimeState, "/", runtimeSameSite)];
  const token = new URLSearchParams(request.querystring).get("chain") ?? undefined;
  const chain = unseal(gate.secrets.nonceKey, "logout", token);
  const hosts: unknown[] = Array.isArray(chain?.h) ? (chain.h as unknown[]) : [];
  const at = hosts.indexOf(host);
  // Forged, foreign or stale logout chains redirect nowhere: the hop only signs this host out.
  if (!chain || typeof chain.x !== "number" || chain.x < gate.now() || at < 0) {
    // Forced logout: without a valid chain, only the user (typed or same-origin) may sign this host out, not another site.
    if (!sameOriginOrUser(request))
      return page(403, "Not signed out", "Another page asked to sign you out of this runtime host. Nothing was changed.", [], {
        href: `${appOrigin}/`,
        text: "Open OpenHands",
      });
    return page(200, "Signed out", "You are signed out of this runtime host.", cleared, { href: `${appOrigin}/`, text: "Open OpenHands" });
  }
  const next = hosts[at + 1];
  // Open redirect: the next hop is a signed runtime host that still matches the pattern, or the provider's logout.
  const location =
    typeof next === "string" && classifyHost(next, config).kind === "runtime"
      ? `https://${next}/_auth/runtime-logout?chain=${token}`
      : logoutUrl(config, `${appOrigin}/`);
  return redirect(location, cleared);
}
