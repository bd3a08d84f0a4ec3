// Lambda@Edge viewer-request: authentication for the app host and the runtime hosts.
// `handler` reads its configuration from SSM (names derived from the function name); the factories take it directly.
import type { CloudFrontRequestEvent, CloudFrontResultResponse, Context } from "aws-lambda";
import { EdgeConfigError, EdgeSecretsNotReadyError, parseEdgeConfig, parseEdgeSecrets } from "../shared/config";
import { json } from "../shared/http";
import { SettingsCache, type ParameterSource, type Settings, type SettingsCacheOptions } from "../shared/settings";
import { ssmParameterSource } from "../shared/ssm";
import { createGate, type GateOptions, type ViewerRequestResult } from "./gate";

export { parameterNamesFor, type ParameterSource } from "../shared/settings";
export { ssmParameterSource, SsmError } from "../shared/ssm";
export { userSlug } from "../slug";
export { identitySignature } from "../shared/identity";

export type ViewerRequestHandler = (event: CloudFrontRequestEvent, context?: Pick<Context, "functionName">) => Promise<ViewerRequestResult>;

function notReady(): CloudFrontResultResponse {
  return json(503, { error: "not_configured", message: "The service is starting; try again in a minute." }, [], { "Retry-After": "30" });
}

function failClosed(error: unknown): CloudFrontResultResponse {
  console.error(
    JSON.stringify({
      level: "error",
      message: "edge-auth refused a request",
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    }),
  );
  return json(503, { error: "unavailable", message: "Authentication is unavailable; try again in a minute." }, [], { "Retry-After": "30" });
}

/** A handler for configuration given as objects (the JSON of the SSM parameters); `{"unset":true}` secrets answer 503. */
export function createViewerRequestHandler(input: { config: unknown; secrets: unknown }, options: GateOptions = {}): ViewerRequestHandler {
  const config = parseEdgeConfig(input.config);
  let gate: ReturnType<typeof createGate> | undefined;
  try {
    gate = createGate(config, parseEdgeSecrets(input.secrets), options);
  } catch (error) {
    if (!(error instanceof EdgeSecretsNotReadyError)) throw error;
  }
  return async (event) => {
    if (!gate) return notReady();
    try {
      return await gate(event.Records[0]!.cf.request);
    } catch (error) {
      return failClosed(error);
    }
  };
}

/** A handler that loads its configuration from a parameter source once per container (and again after the cache TTL). */
export function createViewerRequestHandlerFromParameters(
  source: ParameterSource,
  options: GateOptions & SettingsCacheOptions = {},
): ViewerRequestHandler {
  const cache = new SettingsCache(source, options);
  let built: { settings: Settings; gate: ReturnType<typeof createGate> } | undefined;
  return async (event, context) => {
    let settings: Settings;
    try {
      settings = await cache.get(context?.functionName ?? "");
    } catch (error) {
      return failClosed(
        error instanceof EdgeConfigError ? error : new Error(`loading the configuration failed: ${(error as Error).message}`),
      );
    }
    if (settings.state !== "ready") return notReady();
    if (built?.settings !== settings) built = { settings, gate: createGate(settings.config, settings.secrets, options) };
    try {
      return await built.gate(event.Records[0]!.cf.request);
    } catch (error) {
      return failClosed(error);
    }
  };
}

export const handler: ViewerRequestHandler = createViewerRequestHandlerFromParameters(ssmParameterSource());
