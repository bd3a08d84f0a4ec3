/**
 * The webhook relay in ECS mode: one listener on the host's private address and `network.relayPort` for every user,
 * where the sandbox backend points each sandbox's `OH_WEBHOOKS_0_BASE_URL` (`http://<host>:<relay port>/api/v1/webhooks`).
 * Docker mode tells users apart by the bridge a caller comes from (one listener per user's gateway); here every task
 * comes from the same subnets, so the caller's source address names the running sandbox task, and that task's owner
 * names the app the request goes to. Nothing in the request chooses the user. The path, method, size and time checks
 * are the Docker relay's own (src/relay.ts).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Logger } from "../log";
import { type RelayLimits, relayRefusal, WebhookRelay } from "../relay";
import type { SandboxCaller, SandboxCallers } from "./relay-callers";

export interface SharedWebhookRelayOptions {
  /** The host's private address (`ecs.hostPrivateAddress`): where sandbox tasks reach the host. */
  address: string;
  port: number;
  callers: SandboxCallers;
  log: Logger;
  /** A forwarded request counts as the owner's activity. */
  onTraffic: (slug: string) => void;
  limits?: Partial<RelayLimits>;
}

/** Whether the request's X-Session-API-Key is the calling sandbox's own key (compared as SHA-256, in constant time). */
function isCallersKey(header: string | string[], caller: SandboxCaller): boolean {
  if (typeof header !== "string" || !caller.sessionKeySha256) return false;
  const given = createHash("sha256").update(header, "utf8").digest();
  const expected = Buffer.from(caller.sessionKeySha256, "hex");
  return expected.length === given.length && timingSafeEqual(given, expected);
}

export class SharedWebhookRelay extends WebhookRelay {
  /** slug → the user's app upstream, for users whose app the spawner opened. */
  private readonly users = new Map<string, () => string | undefined>();
  private server: Server | undefined;
  private readonly address: string;
  private readonly callers: SandboxCallers;

  constructor(options: SharedWebhookRelayOptions) {
    super(options.port, options.log, options.onTraffic, options.limits);
    this.address = options.address;
    this.callers = options.callers;
  }

  get listening(): boolean {
    return this.server?.listening === true;
  }

  /** Starts the one listener (idempotent); the address may need a moment to appear after boot. */
  async listen(): Promise<void> {
    if (this.server) return;
    const server = this.boundedServer((req, res) => this.admit(req, res));
    this.server = server;
    let lastError: Error | undefined;
    for (let attempt = 0; attempt < 20; attempt += 1) {
      try {
        await new Promise<void>((resolve, reject) => {
          server.once("error", reject);
          server.listen(this.port, this.address, () => {
            server.off("error", reject);
            resolve();
          });
        });
        this.log.info("relay listening (all users)", { address: this.address, port: this.port });
        return;
      } catch (error) {
        lastError = error as Error;
        if ((error as NodeJS.ErrnoException).code !== "EADDRNOTAVAIL") break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    this.server = undefined;
    throw new Error(`the relay cannot listen on ${this.address}:${this.port}: ${lastError?.message}`);
  }

  override isOpen(slug: string): boolean {
    return this.users.has(slug);
  }

  /** Lets the user's sandboxes reach `upstream`; `address` is the placement's callback address, this listener's own. */
  override async open(slug: string, address: string, upstream: () => string | undefined): Promise<void> {
    if (address !== this.address) {
      throw new Error(`relay for ${slug}: the callback address ${address} is not the relay's ${this.address} (ecs.hostPrivateAddress)`);
    }
    this.users.set(slug, upstream);
  }

  override async close(slug: string): Promise<void> {
    this.users.delete(slug);
  }

  /** Forgets every user and closes the listener. */
  override async closeAll(): Promise<void> {
    this.users.clear();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private admit(req: IncomingMessage, res: ServerResponse): void {
    const caller = this.callers.callerAt(req.socket.remoteAddress);
    // Impersonating a sandbox: anything else in the VPC that reaches this port (an app task, a stopped sandbox's address) is refused.
    if (!caller) return this.refuse(undefined, req, res, "the caller is no running sandbox");
    const upstream = this.users.get(caller.owner);
    // A sandbox outliving its owner's app (culled, stopping) reaches nothing.
    if (!upstream) return this.refuse(caller.owner, req, res, "the sandbox's owner has no open relay");
    const refusal = relayRefusal(req.method ?? "GET", req.url ?? "/", req.headers);
    if (refusal) return this.refuse(caller.owner, req, res, refusal);
    const key = req.headers["x-session-api-key"];
    // Key replay: a session key of another sandbox (another user's, say) is refused before any app sees it.
    if (key !== undefined && !isCallersKey(key, caller))
      return this.refuse(caller.owner, req, res, "not the calling sandbox's session key");
    // Cross-user callbacks: the request goes to the app of the caller's owner, never to one the request names.
    this.forward(caller.owner, upstream(), req, res);
  }
}
