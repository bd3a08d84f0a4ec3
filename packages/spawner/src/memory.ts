/**
 * Memory admission: apps and sandboxes start only while the sum of the memory limits of what runs, plus the
 * new one, fits the host's budget. The budget is `memory.budgetMiB`, or the host's MemTotal (read at start)
 * minus `memory.hostReserveMiB` for the host's own services (dockerd, nginx, the spawner, the CloudWatch agent).
 * Docker mode only: in ECS mode the host holds no app or sandbox (Fargate gives each task the size its definition
 * asks for), so no budget is applied there (src/ecs/service-backends.ts).
 */
import { readFileSync } from "node:fs";
import type { SpawnerConfig } from "./config";
import type { ContainerState, DockerHostView } from "./docker/host-view";

const MiB = 1024 * 1024;
/** Container states that hold (or are about to hold) their memory. */
const HOLDING = new Set(["running", "paused", "restarting"]);

/** MemTotal of /proc/meminfo in MiB; throws with a clear message when it cannot be read. */
export function hostMemTotalMiB(meminfo: string): number {
  const m = /^MemTotal:\s+(\d+)\s+kB$/m.exec(meminfo);
  if (!m) throw new Error("MemTotal not found in /proc/meminfo");
  return Math.floor(Number(m[1]) / 1024);
}

/** The budget in MiB: the configured one, else MemTotal minus the reserve (never below 256 MiB). */
export function memoryBudgetMiB(
  config: Pick<SpawnerConfig, "memory">,
  readMeminfo: () => string = () => readFileSync("/proc/meminfo", "utf8"),
): number {
  if (config.memory.budgetMiB !== undefined) return config.memory.budgetMiB;
  return Math.max(256, hostMemTotalMiB(readMeminfo()) - config.memory.hostReserveMiB);
}

export class MemoryBudget {
  constructor(
    readonly budgetMiB: number,
    private readonly view: Pick<DockerHostView, "all">,
    private readonly limits: { appMiB: number; sandboxMiB: number },
  ) {}

  get appMiB(): number {
    return this.limits.appMiB;
  }

  /**
   * The sum of the memory limits of the apps and sandboxes that hold memory now (a container without a limit counts as its kind's limit).
   */
  usedMiB(): number {
    let bytes = 0;
    for (const c of this.view.all()) {
      if (!HOLDING.has(c.status)) continue;
      bytes += this.limitBytes(c);
    }
    return Math.ceil(bytes / MiB);
  }

  private limitBytes(c: ContainerState): number {
    return c.memoryBytes && c.memoryBytes > 0 ? c.memoryBytes : (c.kind === "app" ? this.limits.appMiB : this.limits.sandboxMiB) * MiB;
  }

  private limitMiB(c: ContainerState): number {
    return Math.ceil(this.limitBytes(c) / MiB);
  }

  /**
   * Undefined when one more `kind` fits, else the refusal the user reads. `pendingMiB`: starts already granted
   * whose containers are not in the view yet (two starts at the same moment cannot both take the last memory).
   * `heldAlready`: a container that may be the one starting and already holds its memory (the user's own app
   * ensured again, a paused sandbox being unpaused); the first match is not counted twice.
   */
  refusal(kind: "app" | "sandbox", pendingMiB: number, heldAlready?: (c: ContainerState) => boolean): string | undefined {
    const need = kind === "app" ? this.limits.appMiB : this.limits.sandboxMiB;
    let used = this.usedMiB() + pendingMiB;
    const own = heldAlready ? this.view.all().find((c) => HOLDING.has(c.status) && heldAlready(c)) : undefined;
    if (own) used -= this.limitMiB(own);
    if (used + need <= this.budgetMiB) return undefined;
    const what = kind === "app" ? "your OpenHands app" : "a new sandbox";
    return (
      `this host's memory is taken: apps and sandboxes already hold ${used} MiB of its ${this.budgetMiB} MiB budget, and ${what} ` +
      `needs ${need} MiB more (memory.budgetMiB); try again when someone's idle app or conversation has been stopped`
    );
  }
}
