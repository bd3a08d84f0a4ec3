// Lambda@Edge origin-response: security headers per host kind.
import type { CloudFrontResponse, CloudFrontResponseEvent, Context } from "aws-lambda";
import { parseEdgeConfig, type EdgeConfig } from "../shared/config";
import { classifyHost } from "../shared/hosts";
import { header } from "../shared/http";
import { SettingsCache, type ParameterSource, type SettingsCacheOptions } from "../shared/settings";
import { ssmParameterSource } from "../shared/ssm";
import { applySecurityHeaders } from "./security-headers";

export { appContentSecurityPolicy } from "./security-headers";
export { ssmParameterSource } from "../shared/ssm";

export type OriginResponseHandler = (
  event: CloudFrontResponseEvent,
  context?: Pick<Context, "functionName">,
) => Promise<CloudFrontResponse>;

function withHeaders(event: CloudFrontResponseEvent, config: EdgeConfig | undefined): CloudFrontResponse {
  const { request, response } = event.Records[0]!.cf;
  const host = config ? classifyHost(header(request.headers, "host"), config) : ({ kind: "unknown", host: "" } as const);
  applySecurityHeaders(response.headers, host, config);
  return response;
}

/** A handler for a configuration object (the JSON of the config parameter). */
export function createOriginResponseHandler(input: { config: unknown }): OriginResponseHandler {
  const config = parseEdgeConfig(input.config);
  return async (event) => withHeaders(event, config);
}

/** A handler that loads the config parameter once per container; without it, the strictest generic headers still apply. */
export function createOriginResponseHandlerFromParameters(
  source: ParameterSource,
  options: SettingsCacheOptions = {},
): OriginResponseHandler {
  const cache = new SettingsCache(source, { ...options, withSecrets: false });
  return async (event, context) => {
    let config: EdgeConfig | undefined;
    try {
      config = (await cache.get(context?.functionName ?? "")).config;
    } catch (error) {
      console.error(JSON.stringify({ level: "error", message: "edge-auth headers without configuration", error: String(error) }));
    }
    return withHeaders(event, config);
  };
}

export const handler: OriginResponseHandler = createOriginResponseHandlerFromParameters(ssmParameterSource());
