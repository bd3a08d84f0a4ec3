// CloudFront event builders and small readers of the results, shaped as in the Lambda@Edge event structure documentation.
import type { CloudFrontHeaders, CloudFrontRequest, CloudFrontRequestEvent, CloudFrontResultResponse } from "aws-lambda";
import { randomBytes } from "node:crypto";

export const APP_HOST = "oh.example.test";
export const RUNTIME_DOMAIN = "runtime.example.test";

export const key32 = () => randomBytes(32).toString("base64url");

export function testConfig(issuerUrl: string, clientId: string): Record<string, unknown> {
  return {
    version: 1,
    appHost: APP_HOST,
    runtimeDomain: RUNTIME_DOMAIN,
    issuer: issuerUrl,
    jwksUri: `${issuerUrl}/jwks.json`,
    userPoolId: "us-east-1_TestPool1",
    clientId,
    authorizeUrl: `${issuerUrl}/authorize`,
    tokenUrl: `${issuerUrl}/token`,
    logoutUrl: `${issuerUrl}/logout`,
    scopes: ["openid", "email", "profile"],
    sessionMaxAgeSeconds: 2592000,
  };
}

export function testSecrets(): Record<string, string> {
  return { identitySigningKey: key32(), ticketKey: key32(), nonceKey: key32() };
}

export interface RequestSpec {
  method?: string;
  host?: string;
  uri?: string;
  querystring?: string;
  headers?: Record<string, string | string[]>;
  cookies?: Record<string, string>;
}

export function cfRequest(spec: RequestSpec = {}): CloudFrontRequest {
  const headers: CloudFrontHeaders = { host: [{ key: "Host", value: spec.host ?? APP_HOST }] };
  for (const [name, value] of Object.entries(spec.headers ?? {})) {
    headers[name.toLowerCase()] = (Array.isArray(value) ? value : [value]).map((v) => ({ key: name, value: v }));
  }
  if (spec.cookies && Object.keys(spec.cookies).length) {
    headers.cookie = [
      {
        key: "Cookie",
        value: Object.entries(spec.cookies)
          .map(([k, v]) => `${k}=${v}`)
          .join("; "),
      },
    ];
  }
  return { clientIp: "203.0.113.7", method: spec.method ?? "GET", uri: spec.uri ?? "/", querystring: spec.querystring ?? "", headers };
}

export function cfEvent(request: CloudFrontRequest): CloudFrontRequestEvent {
  return {
    Records: [
      {
        cf: {
          config: {
            distributionDomainName: "d111111abcdef8.cloudfront.net",
            distributionId: "EDFDVBD6EXAMPLE",
            eventType: "viewer-request",
            requestId: "test",
          },
          request,
        },
      },
    ],
  };
}

/** Browser navigation headers. */
export const NAV = { "Sec-Fetch-Mode": "navigate", Accept: "text/html" };

export function isResponse(result: CloudFrontRequest | CloudFrontResultResponse): result is CloudFrontResultResponse {
  return "status" in result;
}

export function asResponse(result: CloudFrontRequest | CloudFrontResultResponse): CloudFrontResultResponse {
  if (!isResponse(result)) throw new Error(`expected a generated response, got a request for ${result.uri}`);
  return result;
}

export function asRequest(result: CloudFrontRequest | CloudFrontResultResponse): CloudFrontRequest {
  if (isResponse(result)) throw new Error(`expected the request to pass, got ${result.status} ${result.body ?? ""}`);
  return result;
}

export function location(result: CloudFrontRequest | CloudFrontResultResponse): string {
  const value = asResponse(result).headers?.location?.[0]?.value;
  if (!value) throw new Error(`no Location in ${JSON.stringify(result)}`);
  return value;
}

export function setCookies(result: CloudFrontRequest | CloudFrontResultResponse): string[] {
  return (asResponse(result).headers?.["set-cookie"] ?? []).map((h) => h.value);
}

/** name -> value of the cookies a response sets (empty value for cleared ones). */
export function cookieJar(result: CloudFrontRequest | CloudFrontResultResponse): Record<string, string> {
  const jar: Record<string, string> = {};
  for (const line of setCookies(result)) {
    const pair = line.split(";")[0]!;
    const eq = pair.indexOf("=");
    jar[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return jar;
}

export function bodyJson(result: CloudFrontRequest | CloudFrontResultResponse): Record<string, unknown> {
  return JSON.parse(asResponse(result).body ?? "null") as Record<string, unknown>;
}

export function headerValue(request: CloudFrontRequest, name: string): string | undefined {
  return request.headers[name]?.[0]?.value;
}
