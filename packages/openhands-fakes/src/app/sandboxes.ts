/**
 * DockerSandboxService and DockerSandboxSpecService of OpenHands 1.7.0 (`openhands/app_server/sandbox/
 * docker_sandbox_service.py`, "DSS" below; the same logic in 1.11.0, where that file moved the lines but not the
 * behaviour), over the
 * docker-py replay in ../docker-py.ts.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { DockerApiError, DockerPy, type DockerContainer } from "../docker-py";
import { call } from "../http";
import type { AppConfig } from "./config";

export type SandboxStatus = "STARTING" | "RUNNING" | "PAUSED" | "ERROR" | "MISSING";

export interface ExposedUrl {
  readonly name: string;
  readonly url: string;
  /** The CONTAINER port (DSS L182, L213), never the host port. */
  readonly port: number;
}

export interface SandboxInfo {
  id: string;
  created_by_user_id: null;
  sandbox_spec_id: string;
  status: SandboxStatus;
  session_api_key: string | null;
  exposed_urls: ExposedUrl[] | null;
  created_at: string;
}

/** OpenHands' SandboxError: the start task and the routers turn it into ERROR / 500. */
export class SandboxError extends Error {}

const SESSION_API_KEY_VARIABLE = "OH_SESSION_API_KEYS_0";
const WEBHOOK_CALLBACK_VARIABLE = "OH_WEBHOOKS_0_BASE_URL";

/** DSS L114-126: docker status to sandbox status; anything unknown is ERROR. "exited" is PAUSED (L119-120). */
export function sandboxStatusOf(dockerStatus: string): SandboxStatus {
  const mapping: Record<string, SandboxStatus> = {
    running: "RUNNING",
    paused: "PAUSED",
    exited: "PAUSED",
    created: "STARTING",
    restarting: "STARTING",
    removing: "MISSING",
    dead: "ERROR",
  };
  return mapping[dockerStatus.toLowerCase()] ?? "ERROR";
}

/** base62.encodebytes(os.urandom(n)) as DSS L388/L392 uses for ids and session keys. */
export function base62(bytes: number): string {
  const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  let value = BigInt(`0x${randomBytes(bytes).toString("hex")}`);
  let out = "";
  while (value > 0n) {
    out = alphabet[Number(value % 62n)]! + out;
    value /= 62n;
  }
  return out || "0";
}

/** Python's datetime.fromisoformat for Docker timestamps (nanoseconds cut to milliseconds). */
function parseDockerTime(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const trimmed = value.replace(/(\.\d{3})\d+/, "$1");
  const parsed = Date.parse(trimmed);
  return Number.isNaN(parsed) ? undefined : parsed;
}

/** utils/docker_utils.py L6-32: `localhost` becomes host.docker.internal only when running inside Docker. */
export function replaceLocalhostForDocker(url: string): string {
  if (!existsSync("/.dockerenv")) return url;
  const parsed = new URL(url);
  if (parsed.hostname !== "localhost") return url;
  parsed.hostname = "host.docker.internal";
  return parsed.toString().replace(/\/$/, url.endsWith("/") ? "/" : "");
}

/** DSS L106-112: bind port 0 in the app's own network namespace and take what the kernel gave. */
function findUnusedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "0.0.0.0", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function envOf(container: DockerContainer): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const entry of container.attrs.Config.Env ?? []) {
    const equals = entry.indexOf("=");
    if (equals >= 0) out[entry.slice(0, equals)] = entry.slice(equals + 1);
    else out[entry] = null;
  }
  return out;
}

/** What the routers and the conversation service use of a sandbox service (sandbox_service.py's SandboxService). */
export type SandboxService = Pick<
  DockerSandboxService,
  | "searchSandboxes"
  | "getSandbox"
  | "getSandboxBySessionApiKey"
  | "startSandbox"
  | "resumeSandbox"
  | "pauseSandbox"
  | "deleteSandbox"
  | "waitForSandboxRunning"
>;

export class DockerSandboxService {
  readonly docker: DockerPy;
  private imageChecked = false;

  constructor(
    private readonly config: AppConfig,
    docker?: DockerPy,
  ) {
    this.docker = docker ?? new DockerPy(config.dockerHost);
  }

  /** DSS L140-231: status, URLs from the pattern and the published host ports, skipped when the image has no tag. */
  private async toSandboxInfo(container: DockerContainer): Promise<SandboxInfo | null> {
    const status = sandboxStatusOf(container.status);
    const created = parseDockerTime(container.attrs.Created) ?? Date.now();
    let exposedUrls: ExposedUrl[] | null = null;
    let sessionApiKey: string | null = null;
    if (status === "RUNNING") {
      sessionApiKey = envOf(container)[SESSION_API_KEY_VARIABLE] ?? null;
      exposedUrls = [];
      const workingDir = container.attrs.Config.WorkingDir ?? "";
      const vscodeSuffix = `/?tkn=${sessionApiKey}&folder=${workingDir}`;
      if (container.attrs.HostConfig?.NetworkMode === "host") {
        for (const port of this.config.exposedPorts) {
          let url = this.config.containerUrlPattern.replace("{port}", String(port.containerPort));
          if (port.name === "VSCODE") url += vscodeSuffix;
          exposedUrls.push({ name: port.name, url, port: port.containerPort });
        }
      } else {
        for (const [containerPort, bindings] of Object.entries(container.attrs.NetworkSettings.Ports ?? {})) {
          const binding = bindings?.[0];
          if (!binding) continue;
          const match = this.config.exposedPorts.find((port) => containerPort === `${port.containerPort}/tcp`);
          if (!match) continue;
          let url = this.config.containerUrlPattern.replace("{port}", String(Number.parseInt(binding.HostPort, 10)));
          if (match.name === "VSCODE") url += vscodeSuffix;
          exposedUrls.push({ name: match.name, url, port: match.containerPort });
        }
      }
    }
    const tags = await container.imageTags();
    if (tags.length === 0) return null;
    return {
      id: container.name,
      created_by_user_id: null,
      sandbox_spec_id: tags[0]!,
      status,
      session_api_key: sessionApiKey,
      exposed_urls: exposedUrls,
      created_at: new Date(created).toISOString(),
    };
  }

  /** DSS L233-280: a running sandbox whose agent-server does not answer /health is STARTING, then ERROR after the grace period. */
  private async toCheckedSandboxInfo(container: DockerContainer): Promise<SandboxInfo | null> {
    const info = await this.toSandboxInfo(container);
    if (!info || !info.exposed_urls || info.exposed_urls.length === 0) return info;
    const agentUrl = info.exposed_urls.find((url) => url.name === "AGENT_SERVER")?.url;
    try {
      if (!agentUrl) throw new Error("no AGENT_SERVER url");
      const reply = await call({ method: "GET", url: `${replaceLocalhostForDocker(agentUrl)}/health`, timeoutMs: 5000 });
      if (reply.status >= 400) throw new Error(`health answered ${reply.status}`);
    } catch {
      const startedAt = parseDockerTime(container.attrs.State.StartedAt) ?? Date.parse(info.created_at);
      info.status = startedAt < Date.now() - this.config.startupGraceSeconds * 1000 ? "ERROR" : "STARTING";
      info.exposed_urls = null;
      info.session_api_key = null;
    }
    return info;
  }

  private ownName(name: string): boolean {
    return name.startsWith(this.config.containerNamePrefix);
  }

  /** DSS L282-325: every container of the engine, filtered by name prefix here; an APIError gives an empty page. */
  async searchSandboxes(pageId?: string, limit = 100): Promise<{ items: SandboxInfo[]; next_page_id: string | null }> {
    try {
      const sandboxes: SandboxInfo[] = [];
      for (const container of await this.docker.listContainers()) {
        if (!this.ownName(container.name)) continue;
        const info = await this.toCheckedSandboxInfo(container);
        if (info) sandboxes.push(info);
      }
      sandboxes.sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at));
      const start = pageId && /^\d+$/.test(pageId) ? Number(pageId) : 0;
      const end = start + limit;
      return { items: sandboxes.slice(start, end), next_page_id: end < sandboxes.length ? String(end) : null };
    } catch (error) {
      if (error instanceof DockerApiError) return { items: [], next_page_id: null };
      throw error;
    }
  }

  /** DSS L327-335: by name, only with our prefix; NotFound/APIError give None. */
  async getSandbox(sandboxId: string): Promise<SandboxInfo | null> {
    if (!this.ownName(sandboxId)) return null;
    try {
      return await this.toCheckedSandboxInfo(await this.docker.getContainer(sandboxId));
    } catch (error) {
      if (error instanceof DockerApiError) return null;
      throw error;
    }
  }

  /** DSS L337-358: the webhook routers find the calling sandbox by its session key. */
  async getSandboxBySessionApiKey(sessionApiKey: string): Promise<SandboxInfo | null> {
    try {
      for (const container of await this.docker.listContainers()) {
        if (!this.ownName(container.name)) continue;
        if (envOf(container)[SESSION_API_KEY_VARIABLE] === sessionApiKey) return await this.toCheckedSandboxInfo(container);
      }
      return null;
    } catch (error) {
      if (error instanceof DockerApiError) return null;
      throw error;
    }
  }

  /** sandbox_service.py L188-228: pause the oldest RUNNING sandboxes beyond the limit; a limit <= 0 is a ValueError. */
  private async pauseOldSandboxes(max: number): Promise<string[]> {
    if (max <= 0) throw new SandboxError("max_num_sandboxes must be greater than 0");
    const running = (await this.searchSandboxes()).items.filter((sandbox) => sandbox.status === "RUNNING");
    if (running.length <= max) return [];
    running.sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at));
    const paused: string[] = [];
    for (const sandbox of running.slice(0, running.length - max)) {
      if (await this.pauseSandbox(sandbox.id).catch(() => false)) paused.push(sandbox.id);
    }
    return paused;
  }

  /** docker_sandbox_spec_service.py L78-92: images.get, pull when missing, once per process. */
  private async ensureSpecImage(): Promise<void> {
    if (this.imageChecked) return;
    try {
      await this.docker.getImage(this.config.agentServerImage);
    } catch (error) {
      if (!(error instanceof DockerApiError)) throw error;
      if (!error.notFound) throw new SandboxError(`Error Getting Docker Image: ${this.config.agentServerImage}`);
      try {
        await this.docker.pullImage(this.config.agentServerImage);
      } catch (pullError) {
        if (pullError instanceof DockerApiError) throw new SandboxError(`Error Getting Docker Image: ${this.config.agentServerImage}`);
        throw pullError;
      }
    }
    this.imageChecked = true;
  }

  /**
   * DSS L360-494. Refused without OH_SANDBOX_KIND: upstream then falls back to the legacy SANDBOX_* variables
   * and silently ignores every OH_SANDBOX_* one (prefix, URL pattern, webhook port, extra hosts), which in this
   * deployment would start sandboxes outside the user's filter rules; the fake is stricter than upstream here.
   */
  async startSandbox(sandboxId?: string): Promise<SandboxInfo> {
    if (!this.config.sandboxKind) {
      throw new SandboxError("OH_SANDBOX_KIND is not set: every OH_SANDBOX_* variable would be ignored, refusing to start a sandbox");
    }
    if (!/DockerSandboxServiceInjector$/.test(this.config.sandboxKind)) {
      throw new SandboxError(`OH_SANDBOX_KIND=${this.config.sandboxKind}: this fake follows DockerSandboxServiceInjector only`);
    }
    await this.pauseOldSandboxes(this.config.maxNumSandboxes - 1);
    await this.ensureSpecImage();
    const id = sandboxId ?? base62(16);
    const name = `${this.config.containerNamePrefix}${id}`;
    const sessionApiKey = base62(32);
    const environment: Record<string, string> = { ...this.config.sandboxSpecEnv };
    environment[SESSION_API_KEY_VARIABLE] = sessionApiKey;
    environment[WEBHOOK_CALLBACK_VARIABLE] = `http://host.docker.internal:${this.config.hostPort}/api/v1/webhooks`;
    // L405-415: web_url first, then the permitted origins, de-duplicated, each in its own indexed variable.
    const origins = [...new Set([...(this.config.webUrl ? [this.config.webUrl] : []), ...this.config.permittedCorsOrigins])];
    for (const [index, origin] of origins.entries()) environment[`OH_ALLOW_CORS_ORIGINS_${index}`] = origin;
    let ports: Record<number, number> | undefined;
    if (!this.config.useHostNetwork) ports = {};
    for (const port of this.config.exposedPorts) {
      if (ports) ports[port.containerPort] = await findUnusedPort();
      environment[port.name] = String(port.containerPort);
    }
    try {
      const container = await this.docker.run({
        image: this.config.agentServerImage,
        command: ["--port", "8000"],
        name,
        environment,
        ports,
        volumes: Object.fromEntries(this.config.mounts.map((mount) => [mount.hostPath, { bind: mount.containerPath, mode: mount.mode }])),
        workingDir: "/workspace/project",
        labels: { sandbox_spec_id: this.config.agentServerImage },
        extraHosts: Object.keys(this.config.extraHosts).length > 0 && !this.config.useHostNetwork ? this.config.extraHosts : undefined,
        networkMode: this.config.useHostNetwork ? "host" : undefined,
        devices: this.config.kvmEnabled ? ["/dev/kvm:/dev/kvm:rwm"] : undefined,
      });
      const info = await this.toSandboxInfo(container);
      if (!info) throw new SandboxError(`Failed to start container: ${name} has an untagged image`);
      return info;
    } catch (error) {
      if (error instanceof DockerApiError) throw new SandboxError(`Failed to start container: ${error.message}`);
      throw error;
    }
  }

  /** DSS L496-513: unpause a paused container, start an exited one. */
  async resumeSandbox(sandboxId: string): Promise<boolean> {
    await this.pauseOldSandboxes(this.config.maxNumSandboxes - 1);
    if (!this.ownName(sandboxId)) return false;
    try {
      const container = await this.docker.getContainer(sandboxId);
      if (container.status === "paused") await container.unpause();
      else if (container.status === "exited") await container.start();
      return true;
    } catch (error) {
      if (error instanceof DockerApiError) return false;
      throw error;
    }
  }

  /** DSS L515-527. */
  async pauseSandbox(sandboxId: string): Promise<boolean> {
    if (!this.ownName(sandboxId)) return false;
    try {
      const container = await this.docker.getContainer(sandboxId);
      if (container.status === "running") await container.pause();
      return true;
    } catch (error) {
      if (error instanceof DockerApiError) return false;
      throw error;
    }
  }

  /** DSS L529-554: stop(timeout=10) when running or paused, remove, then the workspace volume if it exists. */
  async deleteSandbox(sandboxId: string): Promise<boolean> {
    if (!this.ownName(sandboxId)) return false;
    try {
      const container = await this.docker.getContainer(sandboxId);
      if (container.status === "running" || container.status === "paused") await container.stop(10);
      await container.remove();
      await this.docker.removeVolume(`openhands-workspace-${sandboxId}`).catch(() => undefined);
      return true;
    } catch (error) {
      if (error instanceof DockerApiError) return false;
      throw error;
    }
  }

  waitForSandboxRunning(sandboxId: string, timeoutSeconds: number, pollSeconds: number): Promise<SandboxInfo> {
    return waitForSandboxRunning((id) => this.getSandbox(id), sandboxId, timeoutSeconds, pollSeconds);
  }
}

/**
 * sandbox_service.py L95-125 `wait_for_sandbox_running` (the base class's, for every sandbox service): poll until
 * RUNNING and `/alive` answers; ERROR or a vanished sandbox fail at once; the timeout fails too.
 */
export async function waitForSandboxRunning(
  getSandbox: (id: string) => Promise<SandboxInfo | null>,
  sandboxId: string,
  timeoutSeconds: number,
  pollSeconds: number,
): Promise<SandboxInfo> {
  const start = Date.now();
  while (Date.now() - start <= timeoutSeconds * 1000) {
    const sandbox = await getSandbox(sandboxId);
    if (!sandbox) throw new SandboxError(`Sandbox not found: ${sandboxId}`);
    if (sandbox.status === "ERROR") throw new SandboxError(`Sandbox entered error state: ${sandboxId}`);
    if (sandbox.status === "RUNNING") {
      const agentUrl = sandbox.exposed_urls?.find((url) => url.name === "AGENT_SERVER")?.url;
      if (!agentUrl) return sandbox;
      const alive = await call({ method: "GET", url: `${agentUrl.replace(/\/$/, "")}/alive`, timeoutMs: 5000 }).then(
        (reply) => reply.status < 300,
        () => false,
      );
      if (alive) return sandbox;
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(pollSeconds * 1000, 100)));
  }
  throw new SandboxError(`Sandbox failed to start within ${timeoutSeconds}s: ${sandboxId}`);
}
