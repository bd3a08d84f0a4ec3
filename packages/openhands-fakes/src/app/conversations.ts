/**
 * LiveStatusAppConversationService of OpenHands 1.7.0 (`app_server/app_conversation/
 * live_status_app_conversation_service.py`, "LSC" below) and the start tasks it yields: the first task (WORKING)
 * is the HTTP answer, the rest runs in the background (`app_conversation_router.py` L351-374) and the client
 * polls `/start-tasks?ids=`. Conversation records and tasks live in memory (upstream: the SQL database).
 */
import { randomUUID } from "node:crypto";
import { call } from "../http";
import type { AppConfig } from "./config";
import { SandboxError, type SandboxInfo, type SandboxService } from "./sandboxes";
import { storedLlm, type SettingsStore } from "./settings";
import { signToken } from "./tokens";

export type StartTaskStatus =
  | "WORKING"
  | "WAITING_FOR_SANDBOX"
  | "PREPARING_REPOSITORY"
  | "RUNNING_SETUP_SCRIPT"
  | "SETTING_UP_GIT_HOOKS"
  | "SETTING_UP_SKILLS"
  | "STARTING_CONVERSATION"
  | "READY"
  | "ERROR";

/** app_conversation_models.py L242-265 (ids serialised as hex). */
export interface StartTask {
  id: string;
  created_by_user_id: null;
  status: StartTaskStatus;
  detail: string | null;
  app_conversation_id: string | null;
  sandbox_id: string | null;
  agent_server_url: string | null;
  request: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}

export interface ConversationRecord {
  id: string;
  title: string | null;
  sandbox_id: string;
  llm_model: string | null;
  created_at: string;
  updated_at: string;
  events: number;
}

const hex = (): string => randomUUID().replace(/-/g, "");

/** A UUID in any of Python's accepted spellings, as hex; undefined when it is none. */
export function uuidHex(value: string): string | undefined {
  const bare = value
    .replace(/^urn:uuid:/i, "")
    .replace(/[{}-]/g, "")
    .toLowerCase();
  return /^[0-9a-f]{32}$/.test(bare) ? bare : undefined;
}

export class ConversationService {
  readonly tasks = new Map<string, StartTask>();
  readonly conversations = new Map<string, ConversationRecord>();
  /** Provider tokens the secrets webhook can hand out (the real app keeps them in secrets.json). */
  readonly providerTokens = new Map<string, string>();

  constructor(
    private readonly config: AppConfig,
    private readonly sandboxes: SandboxService,
    private readonly settings: SettingsStore,
  ) {}

  /** LSC L2138-2142: OH_WEB_URL, else the app through host.docker.internal on the webhook port. */
  private webUrl(): string {
    return this.config.webUrl ?? `http://host.docker.internal:${this.config.hostPort}`;
  }

  /** POST /api/v1/app-conversations: the WORKING task now, the rest in the background. */
  start(request: Record<string, unknown>): StartTask {
    const now = new Date().toISOString();
    const task: StartTask = {
      id: hex(),
      created_by_user_id: null,
      status: "WORKING",
      detail: null,
      app_conversation_id: null,
      sandbox_id: null,
      agent_server_url: null,
      request,
      created_at: now,
      updated_at: now,
    };
    this.tasks.set(task.id, task);
    const first = structuredClone(task);
    void this.run(task).catch(() => undefined);
    return first;
  }

  private update(task: StartTask, changes: Partial<StartTask>): void {
    Object.assign(task, changes, { updated_at: new Date().toISOString() });
  }

  /** LSC L266-446 (setup scripts, git hooks and skills are not run: the fake workspace is empty). */
  private async run(task: StartTask): Promise<void> {
    try {
      const requestedConversation = typeof task.request.conversation_id === "string" ? uuidHex(task.request.conversation_id) : undefined;
      // L753-821: NO_GROUPING (the default) always starts a new sandbox, named after the conversation id if given.
      const started = await this.sandboxes.startSandbox(requestedConversation);
      this.update(task, { status: "WAITING_FOR_SANDBOX", sandbox_id: started.id });
      if (started.status === "ERROR") throw new SandboxError(`Sandbox status: ${started.status}`);
      const sandbox = await this.sandboxes.waitForSandboxRunning(
        started.id,
        this.config.sandboxStartupTimeoutSeconds,
        this.config.sandboxStartupPollSeconds,
      );
      const agentServerUrl = sandbox.exposed_urls?.find((url) => url.name === "AGENT_SERVER")?.url;
      if (!agentServerUrl) throw new SandboxError(`No agent server URL for sandbox ${sandbox.id}`);
      const conversationId = requestedConversation ?? hex();
      this.update(task, { status: "STARTING_CONVERSATION", agent_server_url: agentServerUrl });
      const body = this.startConversationRequest(conversationId, task.request);
      // L363-377: POST /api/conversations with the sandbox's key; any non-2xx fails the task.
      const reply = await call({
        method: "POST",
        url: `${agentServerUrl}/api/conversations`,
        headers: {
          "content-type": "application/json",
          ...(sandbox.session_api_key ? { "x-session-api-key": sandbox.session_api_key } : {}),
        },
        body: JSON.stringify(body),
        timeoutMs: this.config.sandboxStartupTimeoutSeconds * 1000,
      });
      if (reply.status < 200 || reply.status >= 300) {
        throw new Error(`Server error '${reply.status}' for url '${agentServerUrl}/api/conversations': ${reply.body.slice(0, 300)}`);
      }
      const info = JSON.parse(reply.body) as { id?: string };
      const id = uuidHex(String(info.id ?? "")) ?? conversationId;
      const now = new Date().toISOString();
      const llm = body.agent.llm as { model?: string };
      const existing = this.conversations.get(id);
      this.conversations.set(id, {
        id,
        title: `Conversation ${id.slice(0, 5)}`,
        sandbox_id: sandbox.id,
        llm_model: llm.model ?? null,
        created_at: existing?.created_at ?? now,
        updated_at: now,
        events: existing?.events ?? 0,
      });
      this.update(task, { status: "READY", app_conversation_id: id });
    } catch (error) {
      this.update(task, { status: "ERROR", detail: error instanceof Error ? error.message : String(error) });
    }
  }

  /**
   * The StartConversationRequest the app builds (LSC `_build_start_conversation_request_for_user`, L1030-1043 for
   * the default MCP server, L941-955 for the secret lookups), reduced to what the agent-server fake reads.
   */
  private startConversationRequest(
    conversationId: string,
    request: Record<string, unknown>,
  ): { agent: Record<string, unknown>; [key: string]: unknown } {
    const web = this.webUrl();
    const secrets: Record<string, unknown> = {};
    for (const provider of this.providerTokens.keys()) {
      const token = signToken(this.config.jwtSecret, { user_id: null, provider_type: provider });
      secrets[`${provider.toUpperCase()}_TOKEN`] = {
        kind: "LookupSecret",
        url: `${web}/api/v1/webhooks/secrets`,
        headers: { "X-Access-Token": token },
      };
    }
    return {
      conversation_id: conversationId,
      agent: {
        kind: "Agent",
        llm: { usage_id: "agent", ...storedLlm(this.settings) },
        mcp_config: {
          mcpServers: { default: { url: `${web}/mcp/mcp`, headers: { "X-OpenHands-ServerConversation-ID": conversationId } } },
        },
      },
      workspace: { kind: "LocalWorkspace", working_dir: "/workspace/project" },
      initial_message: request.initial_message ?? null,
      secrets,
    };
  }

  /** LSC L576-610: the record joined with its sandbox; URL and key only while the sandbox is RUNNING. */
  async appConversation(id: string): Promise<Record<string, unknown> | null> {
    const record = this.conversations.get(id);
    if (!record) return null;
    const sandbox: SandboxInfo | null = await this.sandboxes.getSandbox(record.sandbox_id);
    const agentUrl = sandbox?.exposed_urls?.find((url) => url.name === "AGENT_SERVER")?.url;
    let executionStatus: string | null = null;
    if (agentUrl && sandbox?.session_api_key) {
      const reply = await call({
        method: "GET",
        url: `${agentUrl}/api/conversations?ids=${id}`,
        headers: { "x-session-api-key": sandbox.session_api_key },
      }).catch(() => undefined);
      if (reply?.status === 200) {
        const infos = JSON.parse(reply.body) as Array<{ execution_status?: string } | null>;
        executionStatus = infos[0]?.execution_status ?? null;
      }
    }
    return {
      id: record.id,
      created_by_user_id: null,
      sandbox_id: record.sandbox_id,
      selected_repository: null,
      selected_branch: null,
      git_provider: null,
      title: record.title,
      trigger: null,
      pr_number: [],
      llm_model: record.llm_model,
      metrics: null,
      created_at: record.created_at,
      updated_at: record.updated_at,
      sandbox_status: sandbox?.status ?? "MISSING",
      execution_status: executionStatus,
      conversation_url: agentUrl ? `${agentUrl}/api/conversations/${record.id}` : null,
      session_api_key: agentUrl ? (sandbox?.session_api_key ?? null) : null,
    };
  }

  /** webhook_router.py L194-265: a conversation the sandbox reports is created or updated under that sandbox. */
  recordConversation(id: string, sandboxId: string, model: string | null): void {
    const now = new Date().toISOString();
    const existing = this.conversations.get(id);
    this.conversations.set(id, {
      id,
      title: existing?.title ?? `Conversation ${id}`,
      sandbox_id: sandboxId,
      llm_model: model ?? existing?.llm_model ?? null,
      created_at: existing?.created_at ?? now,
      updated_at: now,
      events: existing?.events ?? 0,
    });
  }
}
