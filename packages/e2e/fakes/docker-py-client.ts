/**
 * The Docker calls OpenHands 1.7.0 makes through docker-py 7.1.0, in the order and shape listed in
 * /work/shared/reference/openhands-1.7-design-review.md §1-§2 (DockerSandboxService, DockerSandboxSpecService):
 * version negotiation on `/version` without prefix, then every path under `/v<ApiVersion>`; list without
 * filters followed by an inspect by Id per entry; image inspect (pull when missing); create, inspect, start.
 * Part of the OpenHands app contract fake: it talks to whatever `DOCKER_HOST` names, here the spawner's filter.
 */
import { request } from "node:http";

export interface DockerReply {
  readonly status: number;
  readonly body: unknown;
}

export interface ContainerInspect {
  readonly Id: string;
  readonly Name: string;
  readonly Image: string;
  readonly Created?: string;
  readonly State: { readonly Status: string; readonly Running?: boolean };
  readonly Config: { readonly Env?: string[]; readonly WorkingDir?: string; readonly Labels?: Record<string, string> };
  readonly NetworkSettings: { readonly Ports?: Record<string, Array<{ HostIp: string; HostPort: string }> | null> };
}

export class DockerApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    what: string,
  ) {
    super(`${what}: docker answered ${status} ${JSON.stringify(body)}`);
  }
}

export class DockerPyClient {
  private apiVersion: string | undefined;

  /** @param socketPath the unix socket named by `DOCKER_HOST=unix://...` */
  constructor(private readonly socketPath: string) {}

  call(method: string, path: string, body?: unknown): Promise<DockerReply> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          socketPath: this.socketPath,
          method,
          path,
          headers: {
            host: "localhost",
            "user-agent": "docker-sdk-python/7.1.0",
            ...(payload ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } : {}),
          },
          timeout: 10_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let parsed: unknown = text;
            try {
              parsed = text ? JSON.parse(text) : null;
            } catch {
              // streamed pull progress and plain-text errors stay text
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error(`docker ${method} ${path} timed out`)));
      req.on("error", reject);
      req.end(payload);
    });
  }

  /** `docker.from_env()` with version "auto": one unprefixed `GET /version`. */
  async prefix(): Promise<string> {
    if (!this.apiVersion) {
      const reply = await this.call("GET", "/version");
      if (reply.status !== 200) throw new DockerApiError(reply.status, reply.body, "GET /version");
      this.apiVersion = (reply.body as { ApiVersion: string }).ApiVersion;
    }
    return `/v${this.apiVersion}`;
  }

  private async expect(method: string, path: string, ok: number[], body?: unknown): Promise<DockerReply> {
    const reply = await this.call(method, `${await this.prefix()}${path}`, body);
    if (!ok.includes(reply.status)) throw new DockerApiError(reply.status, reply.body, `${method} ${path}`);
    return reply;
  }

  /** `images.get(ref)`, pulling once when the daemon says it is missing (spec service L86, L115). */
  async ensureImage(ref: string): Promise<void> {
    const prefix = await this.prefix();
    const found = await this.call("GET", `${prefix}/images/${ref}/json`);
    if (found.status === 200) return;
    if (found.status !== 404) throw new DockerApiError(found.status, found.body, `GET /images/${ref}/json`);
    const colon = ref.lastIndexOf(":");
    const query = new URLSearchParams({ tag: ref.slice(colon + 1), fromImage: ref.slice(0, colon) });
    await this.expect("POST", `/images/create?${query.toString()}`, [200]);
    await this.expect("GET", `/images/${ref}/json`, [200]);
  }

  /** `containers.run(...)`: create by name, inspect, start (DSS L463-487). */
  async run(name: string, createBody: unknown): Promise<ContainerInspect> {
    const created = await this.expect("POST", `/containers/create?name=${encodeURIComponent(name)}`, [201], createBody);
    const id = (created.body as { Id: string }).Id;
    await this.expect("GET", `/containers/${id}/json`, [200]);
    await this.expect("POST", `/containers/${id}/start`, [204, 304]);
    return (await this.expect("GET", `/containers/${id}/json`, [200])).body as ContainerInspect;
  }

  /** `containers.list(all=True)`: no filters, then an inspect by Id for each entry. */
  async listAll(): Promise<ContainerInspect[]> {
    const listed = await this.expect("GET", "/containers/json?limit=-1&all=1&size=0&trunc_cmd=0", [200]);
    const inspected: ContainerInspect[] = [];
    for (const entry of listed.body as Array<{ Id: string }>) {
      inspected.push((await this.expect("GET", `/containers/${entry.Id}/json`, [200])).body as ContainerInspect);
    }
    return inspected;
  }

  /** `container.image.tags`: the image inspected by its Id. */
  async imageTags(imageId: string): Promise<string[]> {
    const reply = await this.expect("GET", `/images/${imageId.split(":").pop()}/json`, [200]);
    return ((reply.body as { RepoTags?: string[] }).RepoTags ?? []).slice();
  }
}
