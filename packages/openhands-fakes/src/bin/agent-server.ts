/**
 * Standalone agent-server fake, as the stand-in image runs it: `node dist/agent-server.js --port 8000` (the app
 * passes `--port 8000` as the command), configured by the environment DockerSandboxService gives every sandbox
 * (OH_SESSION_API_KEYS_0, OH_WEBHOOKS_0_BASE_URL, OH_ALLOW_CORS_ORIGINS_n, VSCODE/WORKER_1/WORKER_2 ports) plus
 * AGENT_SERVER_VERSION (1.19.1 | 1.34.0, baked into the image). VS Code listens on OH_VSCODE_PORT (SDK config.py
 * L157, default 8001). FAKE_SANDBOX_PLACEMENT (JSON: name, listen, hosts) is not an OpenHands variable: it lets
 * a test run the fake as a plain process on chosen addresses.
 */
import { startAgentServer, type AgentPortName, type ListenAddress } from "../agent-server/server";
import { parseAgentServerVersion } from "../versions";

interface Placement {
  readonly name?: string;
  readonly listen?: Partial<Record<AgentPortName, ListenAddress[]>>;
  readonly hosts?: Record<string, string>;
}

function portArgument(argv: readonly string[]): number {
  const index = argv.indexOf("--port");
  const value = index >= 0 ? argv[index + 1] : undefined;
  if (value === undefined) return 8000;
  if (!/^\d+$/.test(value)) throw new Error(`--port: "${value}" is not a port number`);
  return Number(value);
}

function portOf(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === "") return fallback;
  if (!/^\d+$/.test(value)) throw new Error(`${name}: "${value}" is not a port number`);
  return Number(value);
}

async function main(): Promise<void> {
  const env = process.env;
  const placement = env.FAKE_SANDBOX_PLACEMENT ? (JSON.parse(env.FAKE_SANDBOX_PLACEMENT) as Placement) : undefined;
  const server = await startAgentServer({
    version: parseAgentServerVersion(env.AGENT_SERVER_VERSION),
    env,
    host: "0.0.0.0",
    name: placement?.name,
    hosts: placement?.hosts,
    listen: placement?.listen,
    ports: {
      AGENT_SERVER: portArgument(process.argv),
      VSCODE: portOf(env.OH_VSCODE_PORT, 8001, "OH_VSCODE_PORT"),
      WORKER_1: portOf(env.WORKER_1, 8011, "WORKER_1"),
      WORKER_2: portOf(env.WORKER_2, 8012, "WORKER_2"),
    },
  });
  process.stdout.write(`agent-server ready (${server.version}) on ${server.url}\n`);
  const stop = (): void => void server.close().finally(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((error: Error) => {
  process.stderr.write(`agent-server failed: ${error.message}\n`);
  process.exit(1);
});
