/**
 * Who calls the ECS-mode webhook relay. Every task reaches the host's relay port from the same subnets (docs/ecs.md,
 * section 4), so a security group cannot tell one user's sandbox from another's; the caller's source address can:
 * each running sandbox task has its own private IPv4 address, which the sandbox backend knows with the task's owner
 * and session key. This index maps an address to that sandbox, from the backend's routes (its agent-server route
 * names the task's address).
 */
import type { SandboxBackend } from "../backends";
import { ROUTE_PORTS_PER_SANDBOX } from "./sandbox-task";

/** The running sandbox behind a caller's address. */
export interface SandboxCaller {
  owner: string;
  /** SHA-256 (hex) of the sandbox's session key; null when the backend does not know it. */
  sessionKeySha256: string | null;
}

export interface SandboxCallers {
  /** The running sandbox whose task has this address (IPv4, or IPv4-mapped IPv6), or undefined. */
  callerAt(address: string | undefined): SandboxCaller | undefined;
}

export interface SandboxCallerIndexOptions {
  /** First route port of every user (the sandbox backend's `routePortBase`). */
  routePortBase: number;
  /** How many route-port slots per user to look at: at least the sandboxes a user may keep. */
  slotsPerUser: number;
  /** An index this old is rebuilt before it answers. @default 1000 */
  maxAgeMs?: number;
  /** An address not in the index rebuilds it when the index is at least this old (a sandbox that just came up). @default 100 */
  missRebuildMs?: number;
  now?: () => number;
}

/** Addresses two users' sandboxes claim at once (a stale view after an address was reused): they identify no one. */
const AMBIGUOUS = null;

export class SandboxCallerIndex implements SandboxCallers {
  private index = new Map<string, SandboxCaller | typeof AMBIGUOUS>();
  private builtAt = Number.NEGATIVE_INFINITY;
  private readonly now: () => number;

  constructor(
    private readonly sandboxes: Pick<SandboxBackend, "owners" | "resolve">,
    private readonly options: SandboxCallerIndexOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  callerAt(address: string | undefined): SandboxCaller | undefined {
    const ip = (address ?? "").replace(/^::ffff:/i, "");
    if (!/^(\d{1,3}\.){3}\d{1,3}$/.test(ip)) return undefined;
    const age = this.now() - this.builtAt;
    if (age >= (this.options.maxAgeMs ?? 1_000) || (!this.index.has(ip) && age >= (this.options.missRebuildMs ?? 100))) this.rebuild();
    return this.index.get(ip) ?? undefined;
  }

  /** Every owner's running sandboxes, by the address of their agent-server route. */
  private rebuild(): void {
    const index = new Map<string, SandboxCaller | typeof AMBIGUOUS>();
    const { routePortBase, slotsPerUser } = this.options;
    for (const owner of this.sandboxes.owners()) {
      for (let slot = 0; slot < slotsPerUser; slot += 1) {
        const route = this.sandboxes.resolve(owner, routePortBase + slot * ROUTE_PORTS_PER_SANDBOX);
        if (route?.kind !== "agent-server") continue;
        const ip = new URL(route.upstream).hostname;
        const known = index.get(ip);
        index.set(ip, known === undefined ? { owner, sessionKeySha256: route.sessionKeySha256 } : AMBIGUOUS);
      }
    }
    this.index = index;
    this.builtAt = this.now();
  }
}
