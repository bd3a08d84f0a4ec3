// /_auth/runtime-callback?ticket=... on a runtime host: redeems a ticket minted by routes/runtime.ts for the runtime cookie.
import type { CloudFrontRequest, CloudFrontResultResponse } from "aws-lambda";
import { COOKIE, clearCookie, ourCookie, setCookie } from "../../shared/cookies";
import { page, redirect } from "../../shared/http";
import { safeReturnPath } from "../../shared/return-path";
import { safeEqual, seal, sha256Base64url, unseal } from "../../shared/signed";
import { userSlug } from "../../slug";
import type { GateContext } from "../context";
import { pathInState } from "../runtime-state";

/** Access to one runtime host after a hand-off. */
export const RUNTIME_SESSION_SECONDS = 8 * 3600;

export function runtimeCallback(
  gate: GateContext,
  request: CloudFrontRequest,
  cookies: Map<string, string>,
  host: string,
  slug: string,
): CloudFrontResultResponse {
  const { secrets, runtimeSameSite, now } = gate;
  const restart = { href: `https://${host}/`, text: "Open it again" };
  const fail = (status: number, message: string) =>
    page(status, "Runtime access refused", message, [clearCookie(COOKIE.runtimeState, "/", runtimeSameSite)], restart);
  const ticket = unseal(secrets.ticketKey, "ticket", new URLSearchParams(request.querystring).get("ticket") ?? undefined);
  // Tampered or truncated ticket, or one signed with another key.
  if (!ticket) return fail(400, "The access ticket is not valid.");
  // Ticket for another host: tickets are bound to one runtime host name.
  if (ticket.h !== host) return fail(403, "The access ticket is for another host.");
  // Ticket for another user: the ticket's user must own this host.
  if (typeof ticket.s !== "string" || ticket.u !== slug || userSlug(ticket.s) !== slug)
    return fail(403, "The access ticket is for another user.");
  // Expired ticket.
  if (typeof ticket.x !== "number" || ticket.x < now()) return fail(400, "The access ticket has expired.");
  // Ticket replay: it only works in the browser that asked for it (its state cookie), and only once.
  const state = ourCookie(cookies, COOKIE.runtimeState);
  if (!state || typeof ticket.n !== "string" || !safeEqual(sha256Base64url(state), ticket.n))
    return fail(403, "The access ticket was not requested by this browser.");
  if (typeof ticket.j !== "string" || !gate.spentTickets.spend(ticket.j, ticket.x, now()))
    return fail(403, "The access ticket was already used.");
  const runtime = seal(secrets.ticketKey, "runtime", { h: host, s: ticket.s, u: slug, e: ticket.e, x: now() + RUNTIME_SESSION_SECONDS });
  const target = safeReturnPath(typeof ticket.p === "string" ? ticket.p : pathInState(state), `https://${host}`);
  return redirect(`https://${host}${target}`, [
    setCookie(COOKIE.runtime, runtime, { maxAgeSeconds: RUNTIME_SESSION_SECONDS, sameSite: runtimeSameSite }),
    clearCookie(COOKIE.runtimeState, "/", runtimeSameSite),
  ]);
}
