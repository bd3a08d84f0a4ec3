// Loading the configuration once per container from SSM Parameter Store (us-east-1), with a cache.
// Lambda@Edge has no environment variables, so the parameter names come from the function's own name.
import { EdgeConfigError, EdgeSecretsNotReadyError, parseEdgeConfig, parseEdgeSecrets, type EdgeConfig, type EdgeSecrets } from "./config";

/** Reads parameters by name (SecureStrings decrypted). Missing names are simply absent from the result. */
export interface ParameterSource {
  getParameters(names: readonly string[]): Promise<Map<string, string>>;
}

export interface ParameterNames {
  readonly config: string;
  readonly secrets: string;
}

// `<name>-<environment>-edge-viewer-request` or `<name>-<environment>-edge-origin-response` (the infra edge stack's names); at the
// edge the runtime reports them as `us-east-1.<function name>`. The environment has no hyphen, so the last hyphen before the
// suffix splits name from environment.
const FUNCTION_NAME =
  /^(?:[a-z]{2}(?:-[a-z]+)+-\d\.)?([a-z][a-z0-9-]{1,18}[a-z0-9])-([a-z][a-z0-9]{0,9})-edge-(?:viewer-request|origin-response)$/;

/** The SSM parameter names for a function name, or an EdgeConfigError naming the expected shape. */
export function parameterNamesFor(functionName: string): ParameterNames {
  const match = FUNCTION_NAME.exec(functionName);
  if (!match) {
    throw new EdgeConfigError(
      `function name: ${JSON.stringify(functionName.slice(0, 100))} does not follow the naming contract (expected ` +
        `<name>-<environment>-edge-viewer-request or -edge-origin-response, optionally prefixed by "us-east-1.")`,
    );
  }
  const prefix = `/${match[1]}/${match[2]}/edge`;
  return { config: `${prefix}/config`, secrets: `${prefix}/secrets` };
}

export type Settings =
  | { readonly state: "ready"; readonly config: EdgeConfig; readonly secrets: EdgeSecrets }
  /** The secrets parameter still holds its placeholder: answer 503 and look again soon. */
  | { readonly state: "not-ready"; readonly config: EdgeConfig }
  /** Loaded without secrets (the origin-response function). */
  | { readonly state: "config-only"; readonly config: EdgeConfig };

export interface SettingsCacheOptions {
  /** Re-read the parameters after this long (key rotation without republishing). @default 300000 */
  readonly ttlMs?: number;
  /** Re-read this soon while the secrets are a placeholder. @default 15000 */
  readonly notReadyTtlMs?: number;
  /** Read the secrets parameter too (the origin-response function needs only the config). @default true */
  readonly withSecrets?: boolean;
  readonly now?: () => number;
}

/**
 * One load per container, shared by concurrent first requests; a failed load is not cached (the next request tries again),
 * and when a reload fails the previous settings stay in use.
 */
export class SettingsCache {
  private current: { settings: Settings; loadedAt: number; names: string; raw: string } | undefined;
  private inflight: Promise<Settings> | undefined;

  constructor(
    private readonly source: ParameterSource,
    private readonly options: SettingsCacheOptions = {},
  ) {}

  async get(functionName: string): Promise<Settings> {
    const now = (this.options.now ?? Date.now)();
    const names = parameterNamesFor(functionName);
    const current = this.current;
    if (current && current.names === names.config) {
      const ttl = current.settings.state === "not-ready" ? (this.options.notReadyTtlMs ?? 15_000) : (this.options.ttlMs ?? 300_000);
      if (now - current.loadedAt < ttl) return current.settings;
    }
    this.inflight ??= this.load(names, now).finally(() => {
      this.inflight = undefined;
    });
    try {
      return await this.inflight;
    } catch (error) {
      if (current && current.names === names.config && current.settings.state !== "not-ready") return current.settings;
      throw error;
    }
  }

  private async load(names: ParameterNames, now: number): Promise<Settings> {
    const withSecrets = this.options.withSecrets ?? true;
    const values = await this.source.getParameters(withSecrets ? [names.config, names.secrets] : [names.config]);
    const configJson = values.get(names.config);
    if (configJson === undefined) throw new EdgeConfigError(`SSM parameter ${names.config} is missing (the infra edge stack writes it)`);
    // Unchanged parameters keep the same settings object, so the handler keeps its verifier, JWKS cache and replay memory.
    const raw = `${configJson}\n${withSecrets ? (values.get(names.secrets) ?? "") : ""}`;
    if (this.current && this.current.names === names.config && this.current.raw === raw) {
      this.current = { ...this.current, loadedAt: now };
      return this.current.settings;
    }
    const config = parseEdgeConfig(configJson);
    let settings: Settings;
    if (!withSecrets) {
      settings = { state: "config-only", config };
    } else {
      const secretsJson = values.get(names.secrets);
      if (secretsJson === undefined)
        throw new EdgeConfigError(`SSM parameter ${names.secrets} is missing (the infra edge stack creates it)`);
      try {
        settings = { state: "ready", config, secrets: parseEdgeSecrets(secretsJson) };
      } catch (error) {
        if (!(error instanceof EdgeSecretsNotReadyError)) throw error;
        settings = { state: "not-ready", config };
      }
    }
    this.current = { settings, loadedAt: now, names: names.config, raw };
    return settings;
  }
}
