// One edge under test: the viewer-request factory in front of the test issuer, with a movable clock and a scripted login.
import { createViewerRequestHandler, type ViewerRequestHandler } from "../../src/viewer-request";
import { COOKIE } from "../../src/shared/cookies";
import { sha256Base64url } from "../../src/shared/signed";
import { CLIENT_ID, startTestIssuer, type TestIssuer } from "./issuer";
import { APP_HOST, NAV, cfEvent, cfRequest, cookieJar, location, testConfig, testSecrets, type RequestSpec } from "./events";

export interface TestEdge {
  readonly issuer: TestIssuer;
  readonly config: Record<string, unknown>;
  readonly secrets: Record<string, string>;
  readonly handler: ViewerRequestHandler;
  /** Seconds added to the edge's clock. */
  offset: number;
  send(spec: RequestSpec): ReturnType<ViewerRequestHandler>;
  /** Runs the browser side of a login and returns the cookies it ends with. */
  login(returnUri?: string, claims?: Record<string, unknown>): Promise<{ session: string; refresh: string }>;
  /** Starts a login and returns its pieces without completing it. */
  startLogin(uri?: string): Promise<{ loginCookie: string; state: string; nonce: string; authorize: URL }>;
  close(): Promise<void>;
}

export async function startTestEdge(): Promise<TestEdge> {
  const issuer = await startTestIssuer();
  const config = testConfig(issuer.url, CLIENT_ID);
  const secrets = testSecrets();
  const edge: TestEdge = {
    issuer,
    config,
    secrets,
    offset: 0,
    handler: undefined as unknown as ViewerRequestHandler,
    send: (spec) => edge.handler(cfEvent(cfRequest(spec))),
    async startLogin(uri = "/") {
      const result = await edge.send({ uri, headers: NAV });
      const authorize = new URL(location(result));
      return {
        loginCookie: cookieJar(result)[COOKIE.login]!,
        state: authorize.searchParams.get("state")!,
        nonce: authorize.searchParams.get("nonce")!,
        authorize,
      };
    },
    async login(returnUri = "/", claims = {}) {
      const started = await edge.startLogin(returnUri);
      issuer.tokenResponses.push(() => ({
        status: 200,
        body: { id_token: issuer.idToken({ nonce: started.nonce, ...claims }), refresh_token: "refresh-token-1" },
      }));
      const result = await edge.send({
        uri: "/_auth/callback",
        querystring: `code=good-code&state=${started.state}`,
        headers: NAV,
        cookies: { [COOKIE.login]: started.loginCookie },
      });
      const jar = cookieJar(result);
      if (!jar[COOKIE.session]) throw new Error(`login failed: ${JSON.stringify(result)}`);
      return { session: jar[COOKIE.session]!, refresh: jar[COOKIE.refresh]! };
    },
    close: () => issuer.close(),
  };
  (edge as { handler: ViewerRequestHandler }).handler = createViewerRequestHandler(
    { config, secrets },
    { now: () => Math.floor(Date.now() / 1000) + edge.offset, tokenClient: { backoffMs: 5, timeoutMs: 1000 } },
  );
  return edge;
}

export { APP_HOST, sha256Base64url };
