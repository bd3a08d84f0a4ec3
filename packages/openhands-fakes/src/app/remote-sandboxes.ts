/**
 * RemoteSandboxService and RemoteSandboxSpecService of OpenHands 1.11.0 (`openhands/app_server/sandbox/
 * remote_sandbox_service.py`, "RSS" below; docs/ecs.md section 1 has the calls, fields and mapping as read there):
 * every call is `api_url + path` with `X-API-Key`, the app keeps its own records of its sandboxes (upstream: the
 * `v1_remote_sandbox` table; here in memory) with the SHA-256 of each session key, and the runtime service generates
 * the keys. Selected by `OH_SANDBOX_KIND=RemoteSandboxServiceInjector` (see server.ts).
 */
import { createHash } from "node:crypto";
import { call, isObject, type OutgoingReply, parseJson } from "../http";
import type { AppConfig } from "./config";
import { base62, type ExposedUrl, SandboxError, type SandboxInfo, type SandboxStatus, waitForSandboxRunning } from "./sandboxes";

/** remote_sandbox_spec_service.py: the default spec's command; the agent-server listens on 60000, VS Code on 60001. */
export const REMOTE_AGENT_SERVER_COMMAND = ["/usr/local/bin/openhands-agent-server", "--port", "60000"];
/** RSS: sandboxes run as this user, group and file system group. */
const SANDBOX_UID = 10001;

interface RemoteRecord {
  readonly id: string;
  readonly specId: string;
  readonly createdAt: string;
  sessionKeyHash: string | null;
}

interface Runtime {
  session_id?: unknown;
  runtime_id?: unknown;
  status?: unknown;
  session_api_key?: unknown;
  url?: unknown;
}

const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

/** RSS `_get_sandbox_status_from_runtime`: lower-cased; `stopped` and anything unknown are MISSING. */
export function remoteStatusOf(status: unknown): SandboxStatus {
  const mapping: Record<string, SandboxStatus> = { running: "RUNNING", paused: "PAUSED", starting: "STARTING", error: "ERROR" };
  return (typeof status === "string" && mapping[status.toLowerCase()]) || "MISSING";
}

/** RSS `_build_service_url`: path mode when the url's path starts with `/<runtime_id>`, subdomain mode otherwise. */
export function buildServiceUrl(url: string, name: string, runtimeId: string): string {
  const parsed = new URL(url);
  const path = parsed.pathname === "/" ? "" : parsed.pathname;
  if (path.startsWith(`/${runtimeId}`)) return `${parsed.protocol}//${parsed.host}/${runtimeId}/${name}`;
  return `${parsed.protocol}//${name}-${parsed.host}${path}`;
}

export class RemoteSandboxService {
  private readonly records = new Map<string, RemoteRecord>();

  constructor(private readonly config: AppConfig) {
    if (!config.remote) throw new SandboxError("OH_SANDBOX_API_URL and OH_SANDBOX_API_KEY are required by RemoteSandboxServiceInjector");
  }

  /** RSS `_send_runtime_api_request`. */
  private send(method: "GET" | "POST", path: string, json?: unknown): Promise<OutgoingReply> {
    const { apiUrl, apiKey } = this.config.remote!;
    return call({
      method,
      url: `${apiUrl.replace(/\/$/, "")}${path}`,
      headers: { "X-API-Key": apiKey, ...(json === undefined ? {} : { "content-type": "application/json" }) },
      ...(json === undefined ? {} : { body: JSON.stringify(json) }),
      timeoutMs: 30_000,
    });
  }

  private static runtimeOf(reply: OutgoingReply): Runtime | undefined {
    const parsed = parseJson(reply.body);
    return isObject(parsed) ? (parsed as Runtime) : undefined;
  }

  /** RSS `_to_sandbox_info`: exposed URLs only for a RUNNING runtime with a url. */
  private toSandboxInfo(record: RemoteRecord, runtime: Runtime | undefined): SandboxInfo {
    const status = runtime ? remoteStatusOf(runtime.status) : "MISSING";
    const key = typeof runtime?.session_api_key === "string" ? runtime.session_api_key : null;
    let exposed: ExposedUrl[] | null = null;
    if (status === "RUNNING" && typeof runtime?.url === "string" && runtime.url !== "") {
      const runtimeId = String(runtime.runtime_id ?? "");
      const url = runtime.url;
      exposed = [
        { name: "AGENT_SERVER", url, port: 60000 },
        { name: "VSCODE", url: `${buildServiceUrl(url, "vscode", runtimeId)}/?tkn=${key}&folder=%2Fworkspace%2Fproject`, port: 60001 },
        { name: "WORKER_1", url: buildServiceUrl(url, "work-1", runtimeId), port: 12000 },
        { name: "WORKER_2", url: buildServiceUrl(url, "work-2", runtimeId), port: 12001 },
      ];
    }
    return {
      id: record.id,
      created_by_user_id: null,
      sandbox_spec_id: record.specId,
      status,
      session_api_key: status === "RUNNING" ? key : null,
      exposed_urls: exposed,
      created_at: record.createdAt,
    };
  }

  /** RSS `_get_runtime`: an error answer leaves the sandbox MISSING. */
  private async runtime(id: string): Promise<Runtime | undefined> {
    const reply = await this.send("GET", `/sessions/${encodeURIComponent(id)}`).catch(() => undefined);
    return reply && reply.status < 300 ? RemoteSandboxService.runtimeOf(reply) : undefined;
  }

  /** RSS `search_sandboxes` through `GET /sessions/batch?ids=`; an error makes them all MISSING (1.11.0). */
  async searchSandboxes(pageId?: string, limit = 100): Promise<{ items: SandboxInfo[]; next_page_id: string | null }> {
    const records = [...this.records.values()].sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
    const start = pageId && /^\d+$/.test(pageId) ? Number(pageId) : 0;
    const page = records.slice(start, start + limit);
    const byId = new Map<string, Runtime>();
    if (page.length > 0) {
      const query = page.map((record) => `ids=${encodeURIComponent(record.id)}`).join("&");
      const reply = await this.send("GET", `/sessions/batch?${query}`).catch(() => undefined);
      const list = reply && reply.status < 300 ? parseJson(reply.body) : undefined;
      for (const runtime of Array.isArray(list) ? list : []) {
        if (isObject(runtime) && typeof runtime.session_id === "string") byId.set(runtime.session_id, runtime as Runtime);
      }
    }
    return {
      items: page.map((record) => this.toSandboxInfo(record, byId.get(record.id))),
      next_page_id: start + limit < records.length ? String(start + limit) : null,
    };
  }

  async getSandbox(sandboxId: string): Promise<SandboxInfo | null> {
    const record = this.records.get(sandboxId);
    return record ? this.toSandboxInfo(record, await this.runtime(sandboxId)) : null;
  }

  /** 1.11.0: a session key is found by its hash in the app's own records only (never by walking `/list`). */
  async getSandboxBySessionApiKey(sessionApiKey: string): Promise<SandboxInfo | null> {
    const hash = sha256(sessionApiKey);
    for (const record of this.records.values()) if (record.sessionKeyHash === hash) return this.getSandbox(record.id);
    return null;
  }

  /** sandbox_service.py `pause_old_sandboxes` over RSS `_get_user_running_sandboxes` (`GET /list`, own records only). */
  private async pauseOldSandboxes(max: number): Promise<void> {
    if (max <= 0) throw new SandboxError("max_num_sandboxes must be greater than 0");
    const reply = await this.send("GET", "/list");
    if (reply.status >= 300) throw new SandboxError(`Failed to list sandboxes: ${reply.status}`);
    const runtimes = (RemoteSandboxService.runtimeOf(reply) as { runtimes?: unknown } | undefined)?.runtimes;
    const ids = new Set(
      (Array.isArray(runtimes) ? runtimes : [])
        .map((runtime) => (isObject(runtime) ? runtime.session_id : undefined))
        .filter((id): id is string => typeof id === "string" && this.records.has(id)),
    );
    const running = [...ids].map((id) => this.records.get(id)!).sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt));
    for (const record of running.slice(0, Math.max(0, running.length - max))) await this.pauseSandbox(record.id).catch(() => false);
  }

  /** RSS `start_sandbox`: `POST /start` with the spec's image, command and environment; non-2xx is a SandboxError. */
  async startSandbox(sandboxId?: string): Promise<SandboxInfo> {
    await this.pauseOldSandboxes(this.config.maxNumSandboxes - 1);
    const id = sandboxId ?? base62(16);
    const environment: Record<string, string> = { ...this.config.sandboxSpecEnv, WORKER_1: "12000", WORKER_2: "12001" };
    if (this.config.webUrl) {
      environment.OH_WEBHOOKS_0_BASE_URL = `${this.config.webUrl}/api/v1/webhooks`;
      environment.OH_ALLOW_CORS_ORIGINS_0 = this.config.webUrl;
    }
    const { resourceFactor, runtimeClass } = this.config.remote!;
    const reply = await this.send("POST", "/start", {
      image: this.config.agentServerImage,
      command: REMOTE_AGENT_SERVER_COMMAND,
      working_dir: "/workspace",
      environment,
      session_id: id,
      resource_factor: resourceFactor,
      run_as_user: SANDBOX_UID,
      run_as_group: SANDBOX_UID,
      fs_group: SANDBOX_UID,
      ...(runtimeClass === "sysbox" ? { runtime_class: "sysbox-runc" } : {}),
    });
    if (reply.status >= 300) throw new SandboxError(`Failed to start sandbox: ${reply.status} ${reply.body.slice(0, 200)}`);
    const runtime = RemoteSandboxService.runtimeOf(reply);
    const key = typeof runtime?.session_api_key === "string" ? runtime.session_api_key : null;
    const record: RemoteRecord = {
      id,
      specId: this.config.agentServerImage,
      createdAt: new Date().toISOString(),
      sessionKeyHash: key ? sha256(key) : null,
    };
    this.records.set(id, record);
    return this.toSandboxInfo(record, runtime);
  }

  /** RSS `resume_sandbox`: the answer's session key, when present, replaces the stored hash. */
  async resumeSandbox(sandboxId: string): Promise<boolean> {
    await this.pauseOldSandboxes(this.config.maxNumSandboxes - 1);
    const record = this.records.get(sandboxId);
    const runtime = record ? await this.runtime(sandboxId) : undefined;
    if (!record || !runtime) return false;
    const reply = await this.send("POST", "/resume", { runtime_id: runtime.runtime_id }).catch(() => undefined);
    if (!reply || reply.status >= 300) return false;
    const key = RemoteSandboxService.runtimeOf(reply)?.session_api_key;
    if (typeof key === "string") record.sessionKeyHash = sha256(key);
    return true;
  }

  /** RSS `pause_sandbox`: the stored hash is cleared first; 404 and other errors are false. */
  async pauseSandbox(sandboxId: string): Promise<boolean> {
    const record = this.records.get(sandboxId);
    const runtime = record ? await this.runtime(sandboxId) : undefined;
    if (!record || !runtime) return false;
    record.sessionKeyHash = null;
    const reply = await this.send("POST", "/pause", { runtime_id: runtime.runtime_id }).catch(() => undefined);
    return !!reply && reply.status < 300;
  }

  /** RSS `delete_sandbox`: a 404 on the lookup means already gone; another `/stop` error keeps the record. */
  async deleteSandbox(sandboxId: string): Promise<boolean> {
    const record = this.records.get(sandboxId);
    if (!record) return false;
    record.sessionKeyHash = null;
    const lookup = await this.send("GET", `/sessions/${encodeURIComponent(sandboxId)}`);
    if (lookup.status === 404) {
      this.records.delete(sandboxId);
      return true;
    }
    const runtime = RemoteSandboxService.runtimeOf(lookup);
    const reply = await this.send("POST", "/stop", { runtime_id: runtime?.runtime_id });
    if (reply.status >= 300 && reply.status !== 404) throw new SandboxError(`Failed to stop sandbox ${sandboxId}: ${reply.status}`);
    this.records.delete(sandboxId);
    return true;
  }

  waitForSandboxRunning(sandboxId: string, timeoutSeconds: number, pollSeconds: number): Promise<SandboxInfo> {
    return waitForSandboxRunning((id) => this.getSandbox(id), sandboxId, timeoutSeconds, pollSeconds);
  }
}
