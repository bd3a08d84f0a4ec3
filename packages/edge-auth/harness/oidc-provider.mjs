// A real OpenID Connect provider (oidc-provider 9, ESM-only, hence its own process) standing in for Cognito on loopback.
// Shaped like Cognito where the edge depends on it: endpoints /oauth2/authorize, /oauth2/token, /.well-known/jwks.json and
// /logout?client_id=&logout_uri=; ID tokens carry token_use "id", aud = client id, email and the nonce; refresh tokens are
// issued and not rotated. Usage: node oidc-provider.mjs '<json options>'; prints one JSON line {"issuer": ...} when ready.
import { createServer } from "node:http";
import { generateKeyPairSync } from "node:crypto";
import Provider from "oidc-provider";

const options = JSON.parse(process.argv[2] ?? "{}");
const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: "jwk" }), kid: "loopback-key-1", use: "sig", alg: "RS256" };

let app = (_req, res) => res.writeHead(503).end();
const server = createServer((req, res) => app(req, res));
await new Promise((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const client = {
  client_id: options.clientId,
  redirect_uris: options.redirectUris,
  post_logout_redirect_uris: options.postLogoutRedirectUris ?? [],
  grant_types: ["authorization_code", "refresh_token"],
  response_types: ["code"],
  ...(options.clientSecret
    ? { client_secret: options.clientSecret, token_endpoint_auth_method: "client_secret_basic" }
    : { token_endpoint_auth_method: "none" }),
};

const provider = new Provider(issuer, {
  clients: [client],
  jwks: { keys: [jwk] },
  routes: {
    authorization: "/oauth2/authorize",
    token: "/oauth2/token",
    jwks: "/.well-known/jwks.json",
    end_session: "/oidc/logout",
    userinfo: "/oauth2/userInfo",
  },
  cookies: { keys: ["loopback-provider-cookie-key"] },
  pkce: { required: () => true },
  conformIdTokenClaims: false,
  claims: { openid: ["sub", "token_use", "cognito:username"], email: ["email", "email_verified"], profile: [] },
  async findAccount(_ctx, id) {
    // The login name typed at the dev login form is the account id and the sub.
    const login = String(id);
    return {
      accountId: login,
      claims: async () => ({
        sub: login,
        "cognito:username": login,
        email: `${login}@example.test`,
        email_verified: true,
        token_use: "id",
      }),
    };
  },
  // Cognito asks for no consent: grant the requested scopes on the first login.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope("openid email profile");
    await grant.save();
    return grant;
  },
  renderError: async (ctx, out, error) => {
    process.stderr.write(`provider error: ${error?.stack ?? JSON.stringify(out)}\n`);
    ctx.type = "html";
    ctx.body =
      `<!doctype html><title>error</title><pre id="error">${String(out.error).replace(/</g, "&lt;")}: ` +
      `${String(out.error_description ?? "").replace(/</g, "&lt;")}</pre>`;
  },
  issueRefreshToken: async (_ctx, c) => c.grantTypeAllowed("refresh_token"),
  rotateRefreshToken: false,
  ttl: {
    IdToken: options.idTokenTtlSeconds ?? 3600,
    AccessToken: options.idTokenTtlSeconds ?? 3600,
    RefreshToken: 86400,
    Session: 86400,
    Grant: 86400,
    Interaction: 600,
    AuthorizationCode: 300,
  },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      // Cognito's /logout asks nothing: submit the confirmation at once.
      logoutSource: async (ctx, form) => {
        ctx.body =
          `<!doctype html><html><body>${form}<script>var f=document.getElementById("op.logoutForm");var ` +
          `i=document.createElement("input");i.type="hidden";i.name="logout";i.value="yes";f.appendChild(i);f.submit();` +
          `</script></body></html>`;
      },
    },
  },
});

// Cognito's logout endpoint and parameter names, mapped onto RP-initiated logout.
provider.use(async (ctx, next) => {
  if (ctx.path === "/logout" && ctx.method === "GET") {
    const target = new URL(`${issuer}/oidc/logout`);
    target.searchParams.set("client_id", ctx.query.client_id ?? "");
    target.searchParams.set("post_logout_redirect_uri", ctx.query.logout_uri ?? "");
    ctx.redirect(target.toString());
    return;
  }
  await next();
});

app = provider.callback();
process.stdout.write(`${JSON.stringify({ issuer, pid: process.pid })}\n`);
// Stop at once: open keep-alive connections (the browser, the edge) must not hold the process.
process.on("SIGTERM", () => process.exit(0));
