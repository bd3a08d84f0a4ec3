/**
 * The sandbox host names in ECS mode (docs/ecs.md, section 3, "Runtime URLs"). A sandbox's `url` is
 * `http://<p>-<slug>.<sandbox domain>`, p being its first route port. OpenHands derives the other services' URLs from
 * it in subdomain mode (`_build_service_url`: `<name>-<host>`): `vscode-<p>-<slug>.<domain>`,
 * `work-1-<p>-<slug>.<domain>` and `work-2-<p>-<slug>.<domain>`. Each name maps to one route port (p, p+1, p+2,
 * p+3), which `SandboxBackend.resolve(slug, port)` turns into the task's address and service port.
 */
import { ROUTE_PORTS_PER_SANDBOX } from "./sandbox-task";

const SERVICE_OFFSET: Record<string, number> = { "": 0, "vscode-": 1, "work-1-": 2, "work-2-": 3 };

export function sandboxRuntimeUrl(routePort: number, slug: string, sandboxDomain: string): string {
  return `http://${routePort}-${slug}.${sandboxDomain}`;
}

/** The owner and route port an internal sandbox host name stands for, or undefined for any other name. */
export function routeOfSandboxHost(host: unknown, sandboxDomain: string): { slug: string; port: number } | undefined {
  if (typeof host !== "string" || host.length > 300) return undefined;
  const domain = sandboxDomain.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  // Host confusion: one strict pattern, lower case, no port, no extra labels.
  const match = new RegExp(`^(vscode-|work-1-|work-2-)?([1-9][0-9]{0,4})-([a-z2-7]{16})\\.${domain}$`).exec(host);
  if (!match) return undefined;
  const port = Number(match[2]) + SERVICE_OFFSET[match[1] ?? ""]!;
  // A first port whose four would pass 65535 was never given out.
  if (Number(match[2]) + ROUTE_PORTS_PER_SANDBOX - 1 > 65535) return undefined;
  return { slug: match[3]!, port };
}
