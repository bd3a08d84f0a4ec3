/**
 * The two OpenHands releases the fakes follow, and the agent-server each one pins
 * (1.7.0: `sandbox/sandbox_spec_service.py` L16 `ghcr.io/openhands/agent-server:1.19.1-python`;
 * 1.11.0: `pyproject.toml` pins `openhands-agent-server==1.34.0`, `sandbox_spec_service.py` L17-35).
 */
export const APP_VERSIONS = ["1.7.0", "1.11.0"] as const;
export type AppVersion = (typeof APP_VERSIONS)[number];

export const AGENT_SERVER_VERSIONS = ["1.19.1", "1.34.0"] as const;
export type AgentServerVersion = (typeof AGENT_SERVER_VERSIONS)[number];

export const AGENT_SERVER_OF: Readonly<Record<AppVersion, AgentServerVersion>> = { "1.7.0": "1.19.1", "1.11.0": "1.34.0" };

export function parseAppVersion(value: string | undefined, field = "OPENHANDS_VERSION"): AppVersion {
  const found = APP_VERSIONS.find((version) => version === value);
  if (!found)
    throw new Error(
      `${field}: ${JSON.stringify(value ?? null)} is not an OpenHands version this fake follows (expected ${APP_VERSIONS.join(" or ")})`,
    );
  return found;
}

/** Accepts "1.19.1" and the image-tag form "1.19.1-python". */
export function parseAgentServerVersion(value: string | undefined, field = "AGENT_SERVER_VERSION"): AgentServerVersion {
  const bare = value?.replace(/-python$/, "");
  const found = AGENT_SERVER_VERSIONS.find((version) => version === bare);
  if (!found)
    throw new Error(
      `${field}: ${JSON.stringify(value ?? null)} is not an agent-server version this fake follows (expected ` +
        `${AGENT_SERVER_VERSIONS.join(" or ")})`,
    );
  return found;
}
