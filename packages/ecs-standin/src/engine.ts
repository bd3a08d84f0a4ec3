/**
 * The few Docker Engine API calls the stand-in's data plane needs, over the daemon's unix socket (no client
 * library: the repository talks to the engine directly, as the spawner does).
 */
import { request } from "node:http";

export class DockerCallError extends Error {
  override name = "DockerCallError";
  constructor(
    readonly status: number,
    readonly daemonMessage: string,
    method: string,
    path: string,
  ) {
    super(`docker ${method} ${path}: ${status} ${daemonMessage}`);
  }
}

export interface ContainerState {
  Running: boolean;
  Paused: boolean;
  Status: string;
  ExitCode: number;
  OOMKilled: boolean;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
}

export interface ContainerInspect {
  Id: string;
  State: ContainerState;
  NetworkSettings: { Networks: Record<string, { IPAddress: string; MacAddress: string }> };
}

export class DockerEngine {
  constructor(readonly socketPath: string) {}

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        {
          socketPath: this.socketPath,
          agent: false,
          method,
          path,
          headers: { host: "docker", ...(payload ? { "content-type": "application/json", "content-length": String(payload.length) } : {}) },
          timeout: 180_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`docker ${method} ${path}: no answer within 180 s`)));
      req.on("error", reject);
      req.end(payload);
    });
    if (answer.status >= 200 && answer.status < 300) return (answer.text ? JSON.parse(answer.text) : undefined) as T;
    if (answer.status === 304) return undefined as T;
    let message = answer.text.trim();
    try {
      message = (JSON.parse(answer.text) as { message?: string }).message ?? message;
    } catch {
      // not JSON: keep the text
    }
    throw new DockerCallError(answer.status, message, method, path);
  }

  async inspect(id: string): Promise<ContainerInspect | undefined> {
    try {
      return await this.call<ContainerInspect>("GET", `/containers/${encodeURIComponent(id)}/json`);
    } catch (error) {
      if (error instanceof DockerCallError && error.status === 404) return undefined;
      throw error;
    }
  }

  /**
   * Removes a container; one already gone is fine. A removal already under way (a task's stop racing `close()`:
   * Docker answers 409 "removal of container ... is already in progress") is waited out, up to 20 s.
   */
  async remove(id: string): Promise<void> {
    try {
      await this.call("DELETE", `/containers/${encodeURIComponent(id)}?force=true&v=true`);
    } catch (error) {
      if (error instanceof DockerCallError && error.status === 404) return;
      if (!(error instanceof DockerCallError && error.status === 409 && /already in progress/i.test(error.daemonMessage))) throw error;
      const until = Date.now() + 20_000;
      while ((await this.inspect(id)) !== undefined) {
        if (Date.now() > until) throw error;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
}
