/**
 * Contract fakes of OpenHands (app server 1.7.0 / 1.11.0, agent-server 1.19.1 / 1.34.0) and of an
 * OpenAI-compatible LLM gateway, one of each, plus the docker-py 7.1.0 replay the app uses. See README.md.
 */
export { startOpenHandsApp, type OpenHandsAppOptions, type RunningOpenHandsApp } from "./app/server";
export { readAppConfig, DEFAULT_EXPOSED_PORTS, REMOTE_SPEC_INITIAL_ENV, type AppConfig } from "./app/config";
export { buildServiceUrl, RemoteSandboxService, REMOTE_AGENT_SERVER_COMMAND, remoteStatusOf } from "./app/remote-sandboxes";
export {
  base62,
  sandboxStatusOf,
  DockerSandboxService,
  SandboxError,
  type SandboxInfo,
  type SandboxStatus,
  type ExposedUrl,
} from "./app/sandboxes";
export type { StartTask, StartTaskStatus } from "./app/conversations";
export {
  startAgentServer,
  type AgentServerOptions,
  type RunningAgentServer,
  type AgentPortName,
  type ListenAddress,
  type Callback,
} from "./agent-server/server";
export { startLlmGateway, type LlmGatewayOptions, type RunningLlmGateway, type UsageRecord } from "./llm-gateway";
export {
  DockerPy,
  DockerContainer,
  DockerApiError,
  createBody,
  splitReference,
  type ContainerInspect,
  type RunArguments,
  type DockerReply,
} from "./docker-py";
export {
  APP_VERSIONS,
  AGENT_SERVER_VERSIONS,
  AGENT_SERVER_OF,
  parseAppVersion,
  parseAgentServerVersion,
  type AppVersion,
  type AgentServerVersion,
} from "./versions";
export type { SeenRequest, ExtraRoute } from "./http";
