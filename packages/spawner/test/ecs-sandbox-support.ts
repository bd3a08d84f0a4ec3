/**
 * Test support for the ECS sandbox service: the calls OpenHands 1.11.0's `RemoteSandboxService`
 * (openhands/app_server/sandbox/remote_sandbox_service.py) makes, made the way it makes them, and a raw HTTP
 * request for what no well-behaved client sends (oversized and malformed bodies).
 */
import { request } from "node:http";
import { base62, REMOTE_AGENT_SERVER_COMMAND, REMOTE_SPEC_INITIAL_ENV } from "@openhands-team/openhands-fakes";

/** What `_send_runtime_api_request` gets back: the status and the JSON body (or the text when not JSON). */
export interface ApiAnswer {
  status: number;
  body: any;
}

/** `remote_sandbox_spec_service.py`'s default spec (command and initial_env), the agent-server image aside. */
export const DEFAULT_SPEC = { command: REMOTE_AGENT_SERVER_COMMAND, initialEnv: REMOTE_SPEC_INITIAL_ENV };

/** One user's app as the remote sandbox service sees it: `api_url`, `api_key` and `web_url`. */
export class RemoteSandboxCalls {
  constructor(
    readonly apiUrl: string,
    readonly apiKey: string,
    readonly webUrl: string,
  ) {}

  /** `_send_runtime_api_request`: `api_url + path` with `X-API-Key`; httpx sends `json=` as application/json. */
  async send(method: string, path: string, json?: unknown, params?: Array<[string, string]>): Promise<ApiAnswer> {
    const query = params?.length ? `?${new URLSearchParams(params).toString()}` : "";
    const res = await fetch(`${this.apiUrl}${path}${query}`, {
      method,
      headers: { "X-API-Key": this.apiKey, ...(json === undefined ? {} : { "content-type": "application/json" }) },
      ...(json === undefined ? {} : { body: JSON.stringify(json) }),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: kept as text
    }
    return { status: res.status, body };
  }

  /** `_init_environment`: the spec's initial_env, the webhook base and CORS origin (web_url set), the worker ports. */
  environment(extra: Record<string, string> = {}): Record<string, string> {
    return {
      ...DEFAULT_SPEC.initialEnv,
      OH_WEBHOOKS_0_BASE_URL: `${this.webUrl}/api/v1/webhooks`,
      OH_ALLOW_CORS_ORIGINS_0: this.webUrl,
      WORKER_1: "12000",
      WORKER_2: "12001",
      ...extra,
    };
  }

  /** `start_sandbox`: the start request exactly as built there (no runtime_class unless sysbox). */
  start(image: string, sandboxId: string, extraEnvironment: Record<string, string> = {}): Promise<ApiAnswer> {
    return this.send("POST", "/start", {
      image,
      command: DEFAULT_SPEC.command,
      working_dir: "/workspace",
      environment: this.environment(extraEnvironment),
      session_id: sandboxId,
      resource_factor: 1,
      run_as_user: 10001,
      run_as_group: 10001,
      fs_group: 10001,
    });
  }

  /** `_get_runtime`: GET /sessions/{id}. */
  getRuntime(sandboxId: string): Promise<ApiAnswer> {
    return this.send("GET", `/sessions/${sandboxId}`);
  }

  /** `_get_runtimes_batch`: `params=[('ids', id) ...]`, i.e. `?ids=a&ids=b`; a JSON list matched by session_id. */
  batch(sandboxIds: string[]): Promise<ApiAnswer> {
    return this.send(
      "GET",
      "/sessions/batch",
      undefined,
      sandboxIds.map((id) => ["ids", id]),
    );
  }

  /** `poll_agent_servers` and `_get_user_running_sandboxes`: GET /list → {"runtimes": [...]}. */
  list(): Promise<ApiAnswer> {
    return this.send("GET", "/list");
  }

  /**
   * `pause_sandbox`, `resume_sandbox`, `delete_sandbox`: GET /sessions/{id} for the runtime_id, then POST
   * {runtime_id}. Pause and resume read a 404 as false; delete accepts a 404.
   */
  async lifecycle(action: "pause" | "resume" | "stop", sandboxId: string): Promise<{ ok: boolean; answer?: ApiAnswer }> {
    const runtime = await this.getRuntime(sandboxId);
    if (runtime.status !== 200) return { ok: action === "stop" && runtime.status === 404 };
    const answer = await this.send("POST", `/${action}`, { runtime_id: runtime.body.runtime_id });
    if (answer.status === 404) return { ok: action === "stop", answer };
    return { ok: answer.status >= 200 && answer.status < 300, answer };
  }
}

/** `_build_service_url` of remote_sandbox_service.py (the app fake's, which follows it). */
export { buildServiceUrl } from "@openhands-team/openhands-fakes";

/** `base62.encodebytes(os.urandom(16))`, as start_sandbox names a sandbox. */
export const base62Id = (): string => base62(16);

/** A request as written, for bodies a client library would not send; resolves with the answer (or the socket's end). */
export function rawRequest(
  url: string,
  options: { method: string; path: string; headers: Record<string, string | number>; body?: Buffer | string },
): Promise<{ status: number; text: string } | { error: string }> {
  const target = new URL(url);
  return new Promise((resolve) => {
    const req = request(
      { host: target.hostname, port: target.port, method: options.method, path: options.path, headers: options.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", (error) => resolve({ error: error.message }));
      },
    );
    // The server may close before the whole body is written (it refused it); the answer still counts.
    req.on("error", (error) => resolve({ error: error.message }));
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/** Waits until `read` returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(read: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
