// A self-made token issuer for unit tests: an RSA key, its JWKS and a token endpoint on loopback, all scriptable.
import { createHmac, createSign, generateKeyPairSync, type KeyObject } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export const CLIENT_ID = "test-client-id";

export interface TestIssuer {
  readonly url: string;
  readonly kid: string;
  readonly publicJwk: Record<string, unknown>;
  readonly privateKey: KeyObject;
  /** Token requests received (form fields and Authorization header). */
  readonly tokenRequests: { form: URLSearchParams; authorization: string | undefined }[];
  /** The next token responses, in order; when empty, `defaultTokenResponse` answers. */
  readonly tokenResponses: ((form: URLSearchParams) => { status: number; body: unknown } | "drop")[];
  defaultTokenResponse: (form: URLSearchParams) => { status: number; body: unknown };
  jwksRequests: number;
  /** The keys its JWKS lists (starts with `publicJwk`; push a key to rotate). */
  readonly jwksKeys: Record<string, unknown>[];
  signJwt(payload: Record<string, unknown>, header?: Record<string, unknown>, key?: KeyObject): string;
  idToken(claims?: Record<string, unknown>): string;
  close(): Promise<void>;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

export function signRs256(payload: Record<string, unknown>, header: Record<string, unknown>, key: KeyObject): string {
  const head = `${b64(header)}.${b64(payload)}`;
  return `${head}.${createSign("RSA-SHA256").update(head).sign(key).toString("base64url")}`;
}

export function signHs256(payload: Record<string, unknown>, header: Record<string, unknown>, secret: Buffer | string): string {
  const head = `${b64(header)}.${b64(payload)}`;
  return `${head}.${createHmac("sha256", secret).update(head).digest("base64url")}`;
}

export function unsigned(payload: Record<string, unknown>, header: Record<string, unknown>): string {
  return `${b64(header)}.${b64(payload)}.`;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => resolve(body));
  });
}

export async function startTestIssuer(): Promise<TestIssuer> {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const kid = "test-key-1";
  const publicJwk = { ...(publicKey.export({ format: "jwk" }) as Record<string, unknown>), kid, alg: "RS256", use: "sig" };
  let url = "";
  const issuer: TestIssuer = {
    get url() {
      return url;
    },
    kid,
    publicJwk,
    privateKey,
    tokenRequests: [],
    tokenResponses: [],
    jwksRequests: 0,
    jwksKeys: [publicJwk],
    defaultTokenResponse: () => ({
      status: 200,
      body: { id_token: issuer.idToken(), refresh_token: "refresh-token-2", token_type: "Bearer" },
    }),
    signJwt(payload, header = {}, key = privateKey) {
      return signRs256(payload, { alg: "RS256", typ: "JWT", kid, ...header }, key);
    },
    idToken(claims = {}) {
      const now = Math.floor(Date.now() / 1000);
      return issuer.signJwt({
        sub: "user-sub-1",
        email: "ada@example.test",
        token_use: "id",
        aud: CLIENT_ID,
        iss: url,
        iat: now,
        exp: now + 3600,
        ...claims,
      });
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    if (req.url === "/jwks.json") {
      issuer.jwksRequests += 1;
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: issuer.jwksKeys }));
      return;
    }
    if (req.url === "/token" && req.method === "POST") {
      const form = new URLSearchParams(await readBody(req));
      issuer.tokenRequests.push({ form, authorization: req.headers.authorization });
      const next = issuer.tokenResponses.shift() ?? issuer.defaultTokenResponse;
      const answer = next(form);
      if (answer === "drop") {
        req.socket.destroy();
        return;
      }
      res.writeHead(answer.status, { "content-type": "application/json" }).end(JSON.stringify(answer.body));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return issuer;
}
