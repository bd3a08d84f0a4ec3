/**
 * One user's OpenHands in-process for the unit tests: the app fake against the scripted Docker API, which "runs"
 * each sandbox container by starting the agent-server fake on the container's published host ports (loopback),
 * with the container's environment and its ExtraHosts resolved as Docker would.
 */
import { createServer } from "node:net";
import { startAgentServer, type RunningAgentServer } from "../../src/agent-server/server";
import { startOpenHandsApp, type RunningOpenHandsApp } from "../../src/app/server";
import { AGENT_SERVER_OF, type AppVersion } from "../../src/versions";
import { startDockerDouble, type DockerDouble, type DoubleContainer } from "./docker-double";

export const IMAGE_REPOSITORY = "localhost:1/openhands-standin/agent-server";

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface World {
  readonly version: AppVersion;
  readonly docker: DockerDouble;
  readonly app: RunningOpenHandsApp;
  readonly agents: Map<string, RunningAgentServer>;
  readonly image: string;
  close(): Promise<void>;
}

export interface WorldOptions {
  /** Environment on top of the defaults; a value of undefined removes a default. */
  readonly env?: Record<string, string | undefined>;
  /** Do not run an agent-server when a container starts (it never becomes healthy). */
  readonly silentSandboxes?: boolean;
  readonly providerTokens?: Record<string, string>;
  /** Whether the agent-server image is in the engine, can be pulled, or neither. @default "present" */
  readonly image?: "present" | "pullable" | "absent";
}

export async function startWorld(version: AppVersion, options: WorldOptions = {}): Promise<World> {
  const docker = await startDockerDouble();
  const image = `${IMAGE_REPOSITORY}:${AGENT_SERVER_OF[version]}-python`;
  if ((options.image ?? "present") === "present") docker.addImage(image);
  if (options.image === "pullable") docker.pullable.add(image);
  const agents = new Map<string, RunningAgentServer>();
  docker.onStart = async (container: DoubleContainer) => {
    if (options.silentSandboxes) return;
    const env = Object.fromEntries(
      container.Config.Env.map((entry) => [entry.slice(0, entry.indexOf("=")), entry.slice(entry.indexOf("=") + 1)]),
    );
    const hosts = Object.fromEntries(
      (container.HostConfig.ExtraHosts ?? []).map((entry) => {
        const colon = entry.indexOf(":");
        const address = entry.slice(colon + 1);
        return [entry.slice(0, colon), address === "host-gateway" ? "127.0.0.1" : address];
      }),
    );
    const port = (containerPort: number): number => Number(container.NetworkSettings.Ports?.[`${containerPort}/tcp`]?.[0]?.HostPort ?? 0);
    agents.set(
      container.Id,
      await startAgentServer({
        version: AGENT_SERVER_OF[version],
        env,
        hosts,
        name: container.Name.slice(1),
        ports: { AGENT_SERVER: port(8000), VSCODE: port(8001), WORKER_1: port(8011), WORKER_2: port(8012) },
      }),
    );
  };
  docker.onStop = async (container) => {
    await agents.get(container.Id)?.close();
    agents.delete(container.Id);
  };
  const appPort = await freePort();
  const env: Record<string, string | undefined> = {
    OH_SANDBOX_KIND: "openhands.app_server.sandbox.docker_sandbox_service.DockerSandboxServiceInjector",
    OH_SANDBOX_CONTAINER_NAME_PREFIX: "oh-sbx-test-",
    OH_SANDBOX_CONTAINER_URL_PATTERN: "http://127.0.0.1:{port}",
    OH_SANDBOX_HOST_PORT: String(appPort),
    OH_SANDBOX_EXTRA_HOSTS: JSON.stringify({ "host.docker.internal": "127.0.0.1" }),
    AGENT_SERVER_IMAGE_REPOSITORY: IMAGE_REPOSITORY,
    AGENT_SERVER_IMAGE_TAG: `${AGENT_SERVER_OF[version]}-python`,
    DOCKER_HOST: docker.dockerHost,
    JWT_SECRET: "test-jwt-secret",
    OH_PERMITTED_CORS_ORIGINS_0: "https://openhands.example.test",
    OH_APP_CONVERSATION_SANDBOX_STARTUP_POLL_FREQUENCY: "0",
    ...options.env,
  };
  const app = await startOpenHandsApp({ version, env, port: appPort, providerTokens: options.providerTokens });
  return {
    version,
    docker,
    app,
    agents,
    image,
    close: async () => {
      await app.close();
      for (const agent of agents.values()) await agent.close();
      await docker.close();
    },
  };
}

export async function getJson(url: string, init?: RequestInit): Promise<{ status: number; body: any }> {
  const response = await fetch(url, init);
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // plain text answers stay text
  }
  return { status: response.status, body };
}

export function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  return getJson(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
}

/** Polls the start task as the frontend does, until it leaves the working states. */
export async function waitForTask(appUrl: string, taskId: string, timeoutMs = 30_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await getJson(`${appUrl}/api/v1/app-conversations/start-tasks?ids=${taskId}`);
    const task = body[0];
    if (task && (task.status === "READY" || task.status === "ERROR")) return task;
    if (Date.now() > deadline) throw new Error(`start task ${taskId} still ${task?.status} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Waits until `probe` is true (webhooks are sent after the answer). */
export async function eventually(probe: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
