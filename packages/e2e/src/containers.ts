/**
 * "Runs" containers of the fake Docker engine as local processes, so that what the spawner and the apps ask
 * dockerd for actually answers on the addresses dockerd would have given:
 *
 * - `oh-app-<slug>` starts the OpenHands app contract fake (@openhands-team/openhands-fakes, src/bin/openhands-app.ts)
 *   on the container's IP (`<prefix>.N.2`) and the app port, with the container's `Env`; its `DOCKER_HOST` is
 *   translated from the in-container path to the host folder that the create body's `Binds` mounts there (the
 *   spawner's per-user filtered Docker API);
 * - `oh-sbx-<slug>-<id>` starts the agent-server contract fake (src/bin/agent-server.ts) on the published host
 *   ports, bound to the `HostIp` the spawner's filter wrote (the user's gateway), and on the container's IP and
 *   container ports, and resolves `ExtraHosts` the way Docker would.
 *
 * Stopping, pausing or removing a container stops its process (by PID).
 */
import { dirname, join } from "node:path";
import type { FakeContainer } from "@openhands-team/spawner/testing";
import { readEnvironment } from "./environment";
import { startTsProcess, type StartedProcess } from "./processes";

export interface ContainerRunnerOptions {
  readonly logDir: string;
  /** Port OpenHands listens on inside its container. */
  readonly appPort: number;
  /** How long the app takes to boot (so that the "starting" page is seen, as with the real image). */
  readonly appBootDelayMs: number;
}

/** The standalone entry points of the one set of OpenHands fakes. */
const FAKES = join(dirname(require.resolve("@openhands-team/openhands-fakes/package.json")), "src", "bin");
/** The versions these stand-ins follow: what the spawner's default images name. */
const OPENHANDS_VERSION = "1.7.0";

/** `1.19.1` from an image reference like `ghcr.io/openhands/agent-server:1.19.1-python`. */
function agentServerVersion(image: string): string {
  return /:(\d+\.\d+\.\d+)(?:-python)?$/.exec(image)?.[1] ?? "1.19.1";
}

/** The host folder mounted at `containerPath` (or a parent of it) by a `Binds` entry. */
export function hostPathFor(binds: readonly string[], containerPath: string): string | undefined {
  for (const bind of binds) {
    const [host, target] = bind.split(":");
    if (!host || !target) continue;
    if (containerPath === target) return host;
    if (containerPath.startsWith(`${target}/`)) return host + containerPath.slice(target.length);
  }
  return undefined;
}

function baseEnv(): NodeJS.ProcessEnv {
  const { path, home } = readEnvironment();
  return { PATH: path, HOME: home, NODE_OPTIONS: "" };
}

export class ContainerRunner {
  private readonly processes = new Map<string, Promise<StartedProcess | undefined>>();
  readonly failures: string[] = [];

  constructor(private readonly options: ContainerRunnerOptions) {}

  /** `onStart` hook of the fake Docker engine. */
  readonly onStart = (container: FakeContainer): void => {
    const name = container.Name.replace(/^\//, "");
    let started: Promise<StartedProcess>;
    if (name.startsWith("oh-app-")) started = this.startApp(name, container);
    else if (name.startsWith("oh-sbx-")) started = this.startSandbox(name, container);
    else return;
    this.processes.set(
      container.Id,
      started.catch((error: Error) => {
        this.failures.push(`${name}: ${error.message}`);
        return undefined;
      }),
    );
  };

  /** `onStop` hook: stop, pause and destroy all end the process. */
  readonly onStop = async (container: FakeContainer): Promise<void> => {
    const running = this.processes.get(container.Id);
    this.processes.delete(container.Id);
    const started = await running;
    await started?.stop();
  };

  async stopAll(): Promise<void> {
    const all = [...this.processes.values()];
    this.processes.clear();
    for (const started of await Promise.all(all)) await started?.stop();
  }

  private startApp(name: string, container: FakeContainer): Promise<StartedProcess> {
    const network = Object.values(container.NetworkSettings.Networks)[0];
    if (!network?.IPAddress) throw new Error(`${name} has no address on its network`);
    const env: NodeJS.ProcessEnv = { ...baseEnv() };
    for (const entry of container.Config.Env) {
      const equals = entry.indexOf("=");
      if (equals > 0) env[entry.slice(0, equals)] = entry.slice(equals + 1);
    }
    const dockerHost = env.DOCKER_HOST ?? "";
    if (dockerHost.startsWith("unix://")) {
      const binds = (container.HostConfig.Binds as string[] | undefined) ?? [];
      const hostPath = hostPathFor(binds, dockerHost.slice("unix://".length));
      if (!hostPath) throw new Error(`${name}: DOCKER_HOST ${dockerHost} is not inside any bind mount (${binds.join(", ")})`);
      env.DOCKER_HOST = `unix://${hostPath}`;
    }
    // Settings live under FILE_STORE_PATH / OH_PERSISTENCE_DIR inside the container: the user's own folder,
    // mounted there by a bind; never the machine's /.openhands.
    for (const variable of ["FILE_STORE_PATH", "OH_PERSISTENCE_DIR"]) {
      const inside = env[variable];
      if (!inside) continue;
      const hostPath = hostPathFor((container.HostConfig.Binds as string[] | undefined) ?? [], inside);
      if (hostPath) env[variable] = hostPath;
      else delete env[variable];
    }
    env.OPENHANDS_VERSION = OPENHANDS_VERSION;
    env.FAKE_LISTEN_HOST = network.IPAddress;
    env.FAKE_LISTEN_PORT = String(this.options.appPort);
    env.FAKE_BOOT_DELAY_MS = String(this.options.appBootDelayMs);
    return startTsProcess({ name, file: join(FAKES, "openhands-app.ts"), env, logDir: this.options.logDir, ready: /openhands app ready/, timeoutMs: 20_000 });
  }

  private startSandbox(name: string, container: FakeContainer): Promise<StartedProcess> {
    const ports: Record<string, number> = {};
    let hostIp = "";
    for (const [containerPort, bindings] of Object.entries(container.NetworkSettings.Ports)) {
      const binding = bindings?.[0];
      if (!binding) continue;
      ports[containerPort] = Number(binding.HostPort);
      hostIp = binding.HostIp;
    }
    const network = Object.values(container.NetworkSettings.Networks)[0];
    const gateway = network?.Gateway ?? "";
    const extraHosts: Record<string, string> = {};
    for (const entry of (container.HostConfig.ExtraHosts as string[] | undefined) ?? []) {
      const colon = entry.indexOf(":");
      const address = entry.slice(colon + 1);
      extraHosts[entry.slice(0, colon)] = address === "host-gateway" ? gateway : address;
    }
    const env: NodeJS.ProcessEnv = { ...baseEnv() };
    for (const entry of container.Config.Env) {
      const equals = entry.indexOf("=");
      if (equals > 0) env[entry.slice(0, equals)] = entry.slice(equals + 1);
    }
    // Published on all interfaces ("0.0.0.0") would be a filter failure; the fake then binds loopback's 127.0.0.1.
    const bindIp = hostIp === "0.0.0.0" || !hostIp ? "127.0.0.1" : hostIp;
    const names: Record<string, string> = { "8000/tcp": "AGENT_SERVER", "8001/tcp": "VSCODE", "8011/tcp": "WORKER_1", "8012/tcp": "WORKER_2" };
    const listen: Record<string, Array<{ host: string; port: number }>> = {};
    for (const [containerPort, hostPort] of Object.entries(ports)) {
      const portName = names[containerPort];
      if (!portName) continue;
      listen[portName] = [{ host: bindIp, port: hostPort }];
      if (network?.IPAddress) listen[portName].push({ host: network.IPAddress, port: Number.parseInt(containerPort, 10) });
    }
    env.AGENT_SERVER_VERSION = agentServerVersion(String(container.Config.Image ?? ""));
    env.FAKE_SANDBOX_PLACEMENT = JSON.stringify({ name, listen, hosts: extraHosts });
    return startTsProcess({ name, file: join(FAKES, "agent-server.ts"), env, logDir: this.options.logDir, ready: /agent-server ready/, timeoutMs: 20_000 });
  }
}
