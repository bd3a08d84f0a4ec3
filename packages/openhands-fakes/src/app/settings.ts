/**
 * The settings store and `/api/v1/settings` of OpenHands 1.7.0 (`app_server/settings/settings_router.py`,
 * `file_settings_store.py`), unchanged in 1.11.0 apart from where the file lives.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isObject } from "../http";

export type Settings = Record<string, unknown>;

function deepMerge(target: Record<string, unknown>, diff: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...target };
  for (const [key, value] of Object.entries(diff)) {
    const current = out[key];
    out[key] = isObject(value) && isObject(current) ? deepMerge(current, value) : value;
  }
  return out;
}

/** FileSettingsStore: `<dir>/settings.json`, or memory when no directory is usable. */
export class SettingsStore {
  private memory: Settings | undefined;

  constructor(private readonly directory: string | undefined) {}

  load(): Settings | undefined {
    if (this.memory) return this.memory;
    if (!this.directory) return undefined;
    try {
      const parsed = JSON.parse(readFileSync(join(this.directory, "settings.json"), "utf8")) as unknown;
      if (isObject(parsed)) this.memory = parsed;
    } catch {
      // no file yet (404 to the client), or an unreadable one, which the real store also treats as absent
    }
    return this.memory;
  }

  /** Forgets what is stored (memory and file), as if the user never saved settings. */
  clear(): void {
    this.memory = undefined;
    if (!this.directory) return;
    try {
      rmSync(join(this.directory, "settings.json"), { force: true });
    } catch {
      // nothing stored on disk
    }
  }

  store(settings: Settings): void {
    this.memory = settings;
    if (!this.directory) return;
    try {
      mkdirSync(this.directory, { recursive: true });
      writeFileSync(join(this.directory, "settings.json"), JSON.stringify(settings), { mode: 0o600 });
    } catch {
      // a read-only or missing mount keeps the settings in memory only
    }
  }
}

export type StoreResult = { status: 200; body: { message: string } } | { status: 422; body: Record<string, unknown> };

/**
 * settings_router.py L196-258: legacy nested keys are refused with 422 (L211-221); `*_diff` payloads are
 * deep-merged into what is stored; other top-level keys replace.
 */
export function storeSettings(store: SettingsStore, payload: Record<string, unknown>): StoreResult {
  const legacy = ["agent_settings", "conversation_settings"].filter((key) => key in payload).sort();
  if (legacy.length > 0) {
    return { status: 422, body: { error: "Use *_diff nested settings payloads instead of legacy keys", keys: legacy } };
  }
  const existing = store.load() ?? {};
  let next: Settings = { ...existing };
  for (const [key, value] of Object.entries(payload)) {
    if (key === "agent_settings_diff" || key === "conversation_settings_diff") {
      const target = key.replace(/_diff$/, "");
      next[target] = deepMerge(isObject(next[target]) ? (next[target] as Record<string, unknown>) : {}, isObject(value) ? value : {});
    } else {
      next[key] = value;
    }
  }
  // L231-238: values a partial payload did not carry are kept from the stored settings.
  if (next.user_consents_to_analytics === undefined && existing.user_consents_to_analytics !== undefined) {
    next = { ...next, user_consents_to_analytics: existing.user_consents_to_analytics };
  }
  store.store(next);
  return { status: 200, body: { message: "Settings stored" } };
}

/**
 * settings_router.py L113-170: 404 `{"error":"Settings not found"}` when nothing is stored; otherwise the stored
 * settings with `llm_api_key_set` and the secrets blanked (`api_key`, `search_api_key`, `sandbox_api_key`).
 */
export function loadSettings(store: SettingsStore): { status: 200 | 404; body: Record<string, unknown> } {
  const settings = store.load();
  if (!settings) return { status: 404, body: { error: "Settings not found" } };
  const agentSettings = isObject(settings.agent_settings) ? settings.agent_settings : {};
  const llm = isObject(agentSettings.llm) ? agentSettings.llm : {};
  const apiKey = llm.api_key;
  return {
    status: 200,
    body: {
      ...settings,
      agent_settings: { ...agentSettings, llm: { ...llm, api_key: null } },
      llm_api_key_set: typeof apiKey === "string" && apiKey.length > 0,
      search_api_key_set: typeof settings.search_api_key === "string" && settings.search_api_key.length > 0,
      provider_tokens_set: {},
      search_api_key: null,
      sandbox_api_key: null,
    },
  };
}

/** The LLM the app hands to a new conversation (`agent_settings.llm`, with its real key). */
export function storedLlm(store: SettingsStore): Record<string, unknown> {
  const settings = store.load() ?? {};
  const agentSettings = isObject(settings.agent_settings) ? settings.agent_settings : {};
  return isObject(agentSettings.llm) ? { ...agentSettings.llm } : {};
}
