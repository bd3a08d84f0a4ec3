/**
 * The HTTP calls docker-py 7.1.0 makes for OpenHands 1.7.0 (the spawner README, "Filtered Docker API"),
 * replayed against a user's filtered Docker socket.
 */
import { http, type HttpResult } from "./harness";

export class DockerPyClient {
  apiVersion = "";
  constructor(readonly socketPath: string) {}

  call(method: string, path: string, body?: unknown): Promise<HttpResult> {
    return http({ socketPath: this.socketPath, method, path, ...(body === undefined ? {} : { body }) });
  }
  v(path: string): string {
    return `/v${this.apiVersion}${path}`;
  }

  /** docker.from_env() with version "auto": GET /version without a prefix. */
  async negotiate(): Promise<void> {
    const res = await this.call("GET", "/version");
    if (res.status !== 200) throw new Error(`version: ${res.status} ${res.body}`);
    this.apiVersion = res.json().ApiVersion;
  }

  /** containers.list(all=True): the list, then an inspect by Id for each entry. */
  async listAll(): Promise<{ list: HttpResult; inspects: HttpResult[] }> {
    const list = await this.call("GET", this.v("/containers/json?limit=-1&all=1&size=0&trunc_cmd=0"));
    const inspects: HttpResult[] = [];
    if (list.status === 200) for (const item of list.json()) inspects.push(await this.call("GET", this.v(`/containers/${item.Id}/json`)));
    return { list, inspects };
  }

  /** The create body docker-py builds for DockerSandboxService.start_sandbox (None values dropped). */
  static sandboxBody(
    image: string,
    overrides: { HostConfig?: Record<string, unknown> } & Record<string, unknown> = {},
  ): Record<string, unknown> {
    const { HostConfig: hostOverrides, ...top } = overrides;
    return {
      ExposedPorts: { "8000/tcp": {}, "8001/tcp": {}, "8011/tcp": {}, "8012/tcp": {} },
      Tty: false,
      OpenStdin: false,
      StdinOnce: false,
      AttachStdin: false,
      AttachStdout: false,
      AttachStderr: false,
      Env: [
        "OPENVSCODE_SERVER_ROOT=/openhands/.openvscode-server",
        "OH_ENABLE_VNC=0",
        "LOG_JSON=true",
        "OH_CONVERSATIONS_PATH=/workspace/conversations",
        "OH_BASH_EVENTS_DIR=/workspace/bash_events",
        "PYTHONUNBUFFERED=1",
        "ENV_LOG_LEVEL=20",
        "OH_SESSION_API_KEYS_0=session-key-of-this-sandbox",
        "OH_WEBHOOKS_0_BASE_URL=http://host.docker.internal:3000/api/v1/webhooks",
        "OH_ALLOW_CORS_ORIGINS_0=https://openhands.example.com",
        "AGENT_SERVER=8000",
        "VSCODE=8001",
        "WORKER_1=8011",
        "WORKER_2=8012",
      ],
      Cmd: ["--port", "8000"],
      Image: image,
      NetworkDisabled: false,
      WorkingDir: "/workspace/project",
      Labels: { sandbox_spec_id: image },
      HostConfig: {
        NetworkMode: "default",
        PortBindings: {
          "8000/tcp": [{ HostIp: "", HostPort: "41001" }],
          "8001/tcp": [{ HostIp: "", HostPort: "41002" }],
          "8011/tcp": [{ HostIp: "", HostPort: "41003" }],
          "8012/tcp": [{ HostIp: "", HostPort: "41004" }],
        },
        ExtraHosts: ["host.docker.internal:host-gateway"],
        Init: true,
        ...hostOverrides,
      },
      ...top,
    };
  }

  /** containers.run(...): create (pull and retry on "No such image"), inspect by Id, start. */
  async run(
    name: string,
    body: Record<string, unknown>,
  ): Promise<{ create: HttpResult; inspect?: HttpResult; start?: HttpResult; id?: string }> {
    let create = await this.call("POST", this.v(`/containers/create?name=${name}`), body);
    if (create.status === 404 && /No such image/.test(create.body)) {
      const image = String(body.Image);
      const colon = image.lastIndexOf(":");
      await this.call("POST", this.v(`/images/create?tag=${image.slice(colon + 1)}&fromImage=${image.slice(0, colon)}`));
      create = await this.call("POST", this.v(`/containers/create?name=${name}`), body);
    }
    if (create.status !== 201) return { create };
    const id = create.json().Id as string;
    const inspect = await this.call("GET", this.v(`/containers/${id}/json`));
    const start = await this.call("POST", this.v(`/containers/${id}/start`));
    return { create, inspect, start, id };
  }
}
