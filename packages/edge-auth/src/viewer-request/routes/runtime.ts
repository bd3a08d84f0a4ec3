// /_auth/runtime?host=<runtime host>&path=<path>&n=<binding> on the app host: mints a one-time ticket for the signed-in
// user's own runtime host and redirects there (the hand-off; routes/runtime-callback.ts redeems it).
import type { CloudFrontRequest, CloudFrontResultResponse } from "aws-lambda";
import { COOKIE, setCookie } from "../../shared/cookies";
import { classifyHost } from "../../shared/hosts";
import { redirect, refuse } from "../../shared/http";
import { safeReturnPath } from "../../shared/return-path";
import { randomToken, seal } from "../../shared/signed";
import type { GateContext } from "../context";
import { unauthenticated } from "../login";
import { MAX_REMEMBERED_RUNTIME_HOSTS, pathWithQuery, readSession, rememberedRuntimeHosts } from "../session";

/** A runtime ticket is valid this long (one redirect). */
export const TICKET_LIFETIME_SECONDS = 60;

export async function runtimeTicket(
  gate: GateContext,
  request: CloudFrontRequest,
  cookies: Map<string, string>,
): Promise<CloudFrontResultResponse> {
  const { config, secrets } = gate;
  const session = await readSession(gate, cookies);
  if (!session.ok) return unauthenticated(gate, request, session, safeReturnPath(pathWithQuery(request), gate.appOrigin));
  const query = new URLSearchParams(request.querystring);
  const target = classifyHost(query.get("host") ?? "", config);
  const back = { href: `${gate.appOrigin}/`, text: "Go back to your OpenHands" };
  if (target.kind !== "runtime") return refuse(request, 400, "bad_runtime_host", "That is not a runtime host.", [], back);
  // Ticket for another user's sandbox: the slug in the host name must be the signed-in user's own.
  if (target.slug !== session.identity.slug) {
    const message =
      "That runtime belongs to another user: this conversation's workspace is another person's, and nobody else can open yours either.";
    return refuse(request, 403, "not_owner", message, [], back);
  }
  const runtimeOrigin = `https://${target.host}`;
  const path = safeReturnPath(query.get("path"), runtimeOrigin);
  const binding = query.get("n");
  // Without a browser binding the runtime host starts a bound hand-off itself.
  if (binding === null) return redirect(`${runtimeOrigin}${path}`);
  if (!/^[A-Za-z0-9_-]{43}$/.test(binding)) return refuse(request, 400, "bad_binding", "The runtime hand-off is malformed.");
  const { sub, slug, email } = session.identity;
  // Without a path the runtime host keeps the (possibly long) path in its state cookie, bound by `n`.
  const carried = query.get("path") === null ? {} : { p: path };
  const ticket = seal(secrets.ticketKey, "ticket", {
    h: target.host,
    s: sub,
    u: slug,
    e: email,
    x: gate.now() + TICKET_LIFETIME_SECONDS,
    j: randomToken(16),
    n: binding,
    ...carried,
  });
  const remembered = [target.host, ...rememberedRuntimeHosts(gate, cookies).filter((h) => h !== target.host)].slice(
    0,
    MAX_REMEMBERED_RUNTIME_HOSTS,
  );
  const runtimes = setCookie(COOKIE.runtimes, seal(secrets.nonceKey, "runtimes", { h: remembered }), {
    maxAgeSeconds: config.sessionMaxAgeSeconds,
  });
  return redirect(`${runtimeOrigin}/_auth/runtime-callback?ticket=${ticket}`, [runtimes]);
}
