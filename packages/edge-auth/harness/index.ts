// A small local CloudFront for the real edge bundles: HTTP(S) requests, including WebSocket upgrades, become viewer-request
// events; allowed requests go on to the origin URL and its responses pass through the origin-response function.
// The configuration reaches the bundles through their parameter-source factory (an in-memory stand-in for SSM), so the same
// loading, caching and placeholder code runs as in Lambda@Edge. Also starts the loopback OIDC provider that stands in for Cognito.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import {
  Agent,
  request as httpRequest,
  createServer as createHttpServer,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import type {
  CloudFrontHeaders,
  CloudFrontRequest,
  CloudFrontRequestEvent,
  CloudFrontResponseEvent,
  CloudFrontResultResponse,
} from "aws-lambda";
import { startSsmStandIn, type SsmStandIn } from "./ssm-stand-in";

export {
  startSsmStandIn,
  type SsmStandIn,
  type SsmCredentials,
  type SsmFault,
  type SsmRequestRecord,
  type SsmStandInOptions,
} from "./ssm-stand-in";

type ViewerHandler = (
  event: CloudFrontRequestEvent,
  context?: { functionName: string },
) => Promise<CloudFrontRequest | CloudFrontResultResponse>;
type OriginResponseHandler = (
  event: CloudFrontResponseEvent,
  context?: { functionName: string },
) => Promise<{ status: string; statusDescription?: string; headers: CloudFrontHeaders }>;
type ParameterSource = { getParameters(names: readonly string[]): Promise<Map<string, string>> };

export interface EdgeHarnessOptions {
  /** Folder holding `viewer-request/index.js` and `origin-response/index.js`. @default this package's dist/ */
  readonly bundleDir?: string;
  /** JSON of the `/<name>/<environment>/edge/config` parameter. */
  readonly config: Record<string, unknown>;
  /** JSON of the `/<name>/<environment>/edge/secrets` parameter; `{ unset: true }` for the placeholder. */
  readonly secrets: Record<string, unknown>;
  /** Where allowed requests go, e.g. the runtime proxy: `http://127.0.0.1:<port>`. */
  readonly originUrl: string;
  /** @default { host: "127.0.0.1", port: 0 } */
  readonly listen?: { readonly host?: string; readonly port?: number };
  /** TLS key and certificate; `false` for plain HTTP. @default a self-signed certificate for the app host and *.runtime domain */
  readonly tls?: { readonly key: string; readonly cert: string } | false;
  /** Deployment name and environment: the parameter names and function names derive from them. @default "openhands", "test" */
  readonly name?: string;
  readonly environment?: string;
}

export interface EdgeDecision {
  readonly method: string;
  readonly host: string;
  /** Path and query as the viewer sent them. */
  readonly url: string;
  readonly websocket: boolean;
  readonly outcome: number | "forwarded";
}

export interface EdgeHarness {
  /** `https://127.0.0.1:<port>` (or http when tls is false). Send the viewer's host in the Host header. */
  readonly url: string;
  readonly port: number;
  /** PEM certificate the harness serves (undefined for plain HTTP). */
  readonly cert: string | undefined;
  /** Writes a parameter of the SSM stand-in; change a value to see the edge pick it up (e.g. the secrets leaving their placeholder). */
  setParameter(which: "config" | "secrets", value: Record<string, unknown>): void;
  /** Chromium `--host-resolver-rules` value that sends the app host and every runtime host to this harness. */
  readonly hostResolverRules: string;
  /** The SSM stand-in the bundles read their parameters from (requests, faults). */
  readonly ssm: SsmStandIn;
  /** Counters for tests: events handled by each function. */
  readonly stats: { viewerRequests: number; originResponses: number; forwarded: number; upgrades: number };
  /** The viewer-request decisions, newest last (at most 500): the edge's own answer status, or "forwarded" to the origin. */
  readonly decisions: readonly EdgeDecision[];
  close(): Promise<void>;
}

function packageDir(): string {
  // Source (harness/index.ts) or bundle (dist/harness/index.js).
  for (const candidate of [join(__dirname, ".."), join(__dirname, "..", "..")])
    if (existsSync(join(candidate, "harness", "oidc-provider.mjs"))) return candidate;
  throw new Error(`edge-auth harness: cannot find the package folder from ${__dirname}`);
}

/** A self-signed certificate (openssl CLI) for the given DNS names; the key never leaves the temporary folder's lifetime. */
export function createSelfSignedCertificate(dnsNames: readonly string[]): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), "edge-harness-tls-"));
  try {
    const result = spawnSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "2",
        "-subj",
        `/CN=${dnsNames[0]}`,
        "-addext",
        `subjectAltName=${dnsNames.map((n) => `DNS:${n}`).join(",")}`,
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
      ],
      { encoding: "utf8" },
    );
    if (result.status !== 0)
      throw new Error(`openssl failed (is the openssl package installed?): ${result.stderr || result.error?.message}`);
    return { key: readFileSync(join(dir, "key.pem"), "utf8"), cert: readFileSync(join(dir, "cert.pem"), "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function toCloudFrontHeaders(raw: readonly string[]): CloudFrontHeaders {
  const headers: CloudFrontHeaders = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = raw[i]!;
    (headers[key.toLowerCase()] ??= []).push({ key, value: raw[i + 1]! });
  }
  return headers;
}

function toNodeHeaders(headers: CloudFrontHeaders | undefined): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, values] of Object.entries(headers ?? {})) {
    const key = values[0]?.key ?? name;
    out[key] = values.length === 1 ? values[0]!.value : values.map((v) => v.value);
  }
  return out;
}

function viewerEvent(req: IncomingMessage): CloudFrontRequestEvent {
  const raw = req.url ?? "/";
  const q = raw.indexOf("?");
  const request: CloudFrontRequest = {
    clientIp: req.socket.remoteAddress ?? "127.0.0.1",
    method: req.method ?? "GET",
    uri: q < 0 ? raw : raw.slice(0, q),
    querystring: q < 0 ? "" : raw.slice(q + 1),
    headers: toCloudFrontHeaders(req.rawHeaders),
  };
  return {
    Records: [
      {
        cf: {
          config: {
            distributionDomainName: "harness.cloudfront.test",
            distributionId: "EHARNESS",
            eventType: "viewer-request",
            requestId: `${Date.now()}`,
          },
          request,
        },
      },
    ],
  };
}

function isGenerated(result: CloudFrontRequest | CloudFrontResultResponse): result is CloudFrontResultResponse {
  return "status" in result;
}

function generatedBody(response: CloudFrontResultResponse): Buffer {
  return Buffer.from(response.body ?? "", response.bodyEncoding === "base64" ? "base64" : "utf8");
}

function writeRawResponse(socket: Duplex, status: string, description: string, headers: OutgoingHttpHeaders, body: Buffer): void {
  const lines = [`HTTP/1.1 ${status} ${description}`];
  for (const [key, value] of Object.entries(headers))
    for (const v of Array.isArray(value) ? value : [value]) lines.push(`${key}: ${String(v)}`);
  lines.push(`Content-Length: ${body.length}`, "Connection: close", "", "");
  socket.end(Buffer.concat([Buffer.from(lines.join("\r\n")), body]));
}

/** CloudFront quota: "Maximum length of a request, including headers and query strings" (the body not included). */
const CLOUDFRONT_MAX_HEADER_BYTES = 20480;

export async function startEdgeHarness(options: EdgeHarnessOptions): Promise<EdgeHarness> {
  const bundleDir = options.bundleDir ?? join(packageDir(), "dist");
  const name = options.name ?? "openhands";
  const environment = options.environment ?? "test";
  // SSM on loopback (the contract fake of harness/ssm-stand-in.ts), read through the bundles' own SigV4 client.
  const ssm = await startSsmStandIn();
  ssm.put(`/${name}/${environment}/edge/config`, JSON.stringify(options.config));
  ssm.put(`/${name}/${environment}/edge/secrets`, JSON.stringify(options.secrets), "SecureString");
  type SourceFactory = (options: { env: Record<string, string> }) => ParameterSource;
  const viewerModule = require(join(bundleDir, "viewer-request", "index.js")) as {
    ssmParameterSource: SourceFactory;
    createViewerRequestHandlerFromParameters: (s: ParameterSource, o: object) => ViewerHandler;
  };
  const originModule = require(join(bundleDir, "origin-response", "index.js")) as {
    ssmParameterSource: SourceFactory;
    createOriginResponseHandlerFromParameters: (s: ParameterSource, o: object) => OriginResponseHandler;
  };
  // TTL 0: every request sees the current parameters (unchanged values keep the same handler state).
  const viewer = viewerModule.createViewerRequestHandlerFromParameters(viewerModule.ssmParameterSource({ env: ssm.env }), {
    ttlMs: 0,
    notReadyTtlMs: 0,
  });
  const originResponse = originModule.createOriginResponseHandlerFromParameters(originModule.ssmParameterSource({ env: ssm.env }), {
    ttlMs: 0,
  });
  const viewerContext = { functionName: `us-east-1.${name}-${environment}-edge-viewer-request` };
  const originContext = { functionName: `us-east-1.${name}-${environment}-edge-origin-response` };
  const origin = new URL(options.originUrl);
  const stats = { viewerRequests: 0, originResponses: 0, forwarded: 0, upgrades: 0 };
  // Our own agent, so that close() can end the kept-alive connections to the origin too.
  const agent = new Agent({ keepAlive: true });
  const sockets = new Set<Duplex>();

  const decisions: EdgeDecision[] = [];

  async function decide(req: IncomingMessage): Promise<CloudFrontRequest | CloudFrontResultResponse> {
    stats.viewerRequests += 1;
    const result = await viewer(viewerEvent(req), viewerContext);
    decisions.push({
      method: req.method ?? "",
      host: String(req.headers.host ?? ""),
      url: req.url ?? "",
      websocket: req.headers["sec-websocket-key"] !== undefined,
      outcome: isGenerated(result) ? Number(result.status) : "forwarded",
    });
    if (decisions.length > 500) decisions.shift();
    return result;
  }

  function forwardOptions(request: CloudFrontRequest) {
    return {
      protocol: origin.protocol,
      hostname: origin.hostname,
      port: origin.port,
      method: request.method,
      path: request.querystring ? `${request.uri}?${request.querystring}` : request.uri,
      headers: toNodeHeaders(request.headers),
      agent,
    };
  }

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let result: CloudFrontRequest | CloudFrontResultResponse;
    try {
      result = await decide(req);
    } catch (error) {
      res.writeHead(502, { "content-type": "text/plain" }).end(`viewer-request function failed: ${(error as Error).message}`);
      return;
    }
    if (isGenerated(result)) {
      req.resume();
      const body = generatedBody(result);
      res
        .writeHead(Number(result.status), result.statusDescription, { ...toNodeHeaders(result.headers), "content-length": body.length })
        .end(body);
      return;
    }
    stats.forwarded += 1;
    const upstream = httpRequest(forwardOptions(result), async (originRes) => {
      const response = {
        status: String(originRes.statusCode ?? 502),
        statusDescription: originRes.statusMessage ?? "",
        headers: toCloudFrontHeaders(originRes.rawHeaders),
      };
      stats.originResponses += 1;
      const event: CloudFrontResponseEvent = {
        Records: [
          {
            cf: {
              config: {
                distributionDomainName: "harness.cloudfront.test",
                distributionId: "EHARNESS",
                eventType: "origin-response",
                requestId: "",
              },
              request: result as CloudFrontRequest,
              response,
            },
          },
        ],
      };
      let final = response;
      try {
        final = { ...response, ...(await originResponse(event, originContext)) };
      } catch (error) {
        originRes.resume();
        res.writeHead(502).end(`origin-response function failed: ${(error as Error).message}`);
        return;
      }
      const headers = toNodeHeaders(final.headers);
      for (const hopByHop of ["connection", "keep-alive", "transfer-encoding"])
        for (const key of Object.keys(headers)) if (key.toLowerCase() === hopByHop) delete headers[key];
      res.writeHead(Number(final.status), final.statusDescription, headers);
      originRes.pipe(res);
    });
    upstream.on("error", (error) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end(`origin unreachable: ${error.message}`);
    });
    req.pipe(upstream);
  }

  async function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on("error", () => socket.destroy());
    stats.upgrades += 1;
    let result: CloudFrontRequest | CloudFrontResultResponse;
    try {
      result = await decide(req);
    } catch (error) {
      writeRawResponse(socket, "502", "Bad Gateway", {}, Buffer.from((error as Error).message));
      return;
    }
    if (isGenerated(result)) {
      writeRawResponse(socket, result.status, result.statusDescription ?? "", toNodeHeaders(result.headers), generatedBody(result));
      return;
    }
    const upstream = httpRequest(forwardOptions(result));
    upstream.on("upgrade", (originRes, originSocket: Socket, originHead) => {
      const lines = [`HTTP/1.1 101 ${originRes.statusMessage ?? "Switching Protocols"}`];
      for (let i = 0; i + 1 < originRes.rawHeaders.length; i += 2) lines.push(`${originRes.rawHeaders[i]}: ${originRes.rawHeaders[i + 1]}`);
      socket.write(`${lines.join("\r\n")}\r\n\r\n`);
      if (originHead.length) socket.write(originHead);
      if (head.length) originSocket.write(head);
      sockets.add(originSocket);
      originSocket.on("close", () => sockets.delete(originSocket));
      originSocket.pipe(socket).pipe(originSocket);
      originSocket.on("error", () => socket.destroy());
    });
    upstream.on("response", (originRes) => {
      const chunks: Buffer[] = [];
      originRes.on("data", (c: Buffer) => chunks.push(c));
      originRes.on("end", () =>
        writeRawResponse(
          socket,
          String(originRes.statusCode),
          originRes.statusMessage ?? "",
          originRes.headers as OutgoingHttpHeaders,
          Buffer.concat(chunks),
        ),
      );
    });
    upstream.on("error", (error) => writeRawResponse(socket, "502", "Bad Gateway", {}, Buffer.from(error.message)));
    upstream.end();
  }

  const appHost = String(options.config.appHost);
  const runtimeDomain = String(options.config.runtimeDomain);
  const tls = options.tls === undefined ? createSelfSignedCertificate([appHost, `*.${runtimeDomain}`]) : options.tls;
  const handler = (req: IncomingMessage, res: ServerResponse) => void onRequest(req, res);
  // CloudFront accepts requests of up to 20,480 bytes of headers (Node's default would stop at 16 KB, before the edge decides).
  const limits = { maxHeaderSize: CLOUDFRONT_MAX_HEADER_BYTES };
  const server: Server = tls ? createHttpsServer({ key: tls.key, cert: tls.cert, ...limits }, handler) : createHttpServer(limits, handler);
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => void onUpgrade(req, socket, head));
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("secureConnection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.listen?.port ?? 0, options.listen?.host ?? "127.0.0.1", resolve);
  });
  const address = server.address() as AddressInfo;
  const scheme = tls ? "https" : "http";
  const target = `${address.address}:${address.port}`;
  return {
    url: `${scheme}://${target}`,
    port: address.port,
    cert: tls ? tls.cert : undefined,
    hostResolverRules: `MAP ${appHost} ${target}, MAP *.${runtimeDomain} ${target}`,
    stats,
    decisions,
    setParameter(which, value) {
      ssm.put(`/${name}/${environment}/edge/${which}`, JSON.stringify(value), which === "secrets" ? "SecureString" : "String");
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        agent.destroy();
        server.close(() => void ssm.close().then(resolve));
      }),
    ssm,
  };
}

export interface OidcProviderOptions {
  readonly clientId: string;
  /** Makes the client confidential (token requests with HTTP Basic). */
  readonly clientSecret?: string;
  /** e.g. `https://<app host>/_auth/callback` */
  readonly redirectUris: readonly string[];
  /** e.g. `https://<app host>/` */
  readonly postLogoutRedirectUris?: readonly string[];
  /** ID (and access) token lifetime. @default 3600 */
  readonly idTokenTtlSeconds?: number;
}

export interface OidcProvider {
  readonly issuer: string;
  readonly pid: number;
  /** The edge config fields for this provider (issuer, jwksUri, authorizeUrl, tokenUrl, logoutUrl, clientId, userPoolId). */
  readonly edgeConfig: Record<string, string>;
  /** What the provider printed on stderr so far (its warnings and errors), for test failure messages. */
  output(): string;
  close(): Promise<void>;
}

/** Starts the loopback OIDC provider (harness/oidc-provider.mjs) as a child process on a free port; stop it with close(). */
export async function startOidcProvider(options: OidcProviderOptions): Promise<OidcProvider> {
  const script = join(packageDir(), "harness", "oidc-provider.mjs");
  const child = spawn(process.execPath, [script, JSON.stringify(options)], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const ready = await new Promise<{ issuer: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`OIDC provider did not start: ${stderr}`)), 15000);
    child.once("exit", (code) => reject(new Error(`OIDC provider exited (${code}): ${stderr}`)));
    child.stdout.once("data", (chunk: Buffer) => {
      clearTimeout(timer);
      resolve(JSON.parse(chunk.toString().split("\n")[0]!) as { issuer: string });
    });
  });
  const { issuer } = ready;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    issuer,
    pid: child.pid!,
    edgeConfig: {
      issuer,
      jwksUri: `${issuer}/.well-known/jwks.json`,
      authorizeUrl: `${issuer}/oauth2/authorize`,
      tokenUrl: `${issuer}/oauth2/token`,
      logoutUrl: `${issuer}/logout`,
      clientId: options.clientId,
      userPoolId: "us-east-1_Loopback1",
    },
    output: () => stderr,
    async close() {
      if (child.exitCode === null && child.pid) process.kill(child.pid, "SIGTERM");
      await exited;
    },
  };
}
