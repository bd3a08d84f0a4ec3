/** The memory budget's arithmetic: MemTotal read from /proc/meminfo text, the reserve, the configured override, bad input. */
import { hostMemTotalMiB, MemoryBudget, memoryBudgetMiB } from "../src/memory";
import { parseConfig } from "../src/config";
import { readFileSync } from "node:fs";
import { minimalConfigDocument } from "./helpers/minimal-config";

const minimal = minimalConfigDocument();
const MEMINFO_16G = "MemTotal:       16199140 kB\nMemFree:         1023456 kB\nMemAvailable:   12000000 kB\n";

describe("memory budget", () => {
  it("GIVEN a 16 GiB host's /proc/meminfo and the default 2048 MiB reserve THEN the budget is MemTotal minus the reserve", () => {
    expect(hostMemTotalMiB(MEMINFO_16G)).toBe(15819);
    expect(memoryBudgetMiB({ memory: { hostReserveMiB: 2048 } }, () => MEMINFO_16G)).toBe(13771);
  });

  it("GIVEN budgetMiB in the configuration THEN it is used and /proc/meminfo is not read", () => {
    expect(
      memoryBudgetMiB({ memory: { budgetMiB: 4096, hostReserveMiB: 2048 } }, () => {
        throw new Error("read");
      }),
    ).toBe(4096);
  });

  it("GIVEN this machine's real /proc/meminfo THEN the budget is a positive number of MiB below MemTotal", () => {
    const total = hostMemTotalMiB(readFileSync("/proc/meminfo", "utf8"));
    expect(total).toBeGreaterThan(256);
    expect(memoryBudgetMiB({ memory: { hostReserveMiB: 1024 } })).toBe(Math.max(256, total - 1024));
  });

  it("GIVEN a meminfo without MemTotal or a reserve larger than the host THEN a clear error, or the 256 MiB floor", () => {
    expect(() => hostMemTotalMiB("MemFree: 12 kB\n")).toThrow("MemTotal not found in /proc/meminfo");
    expect(memoryBudgetMiB({ memory: { hostReserveMiB: 100_000 } }, () => MEMINFO_16G)).toBe(256);
  });

  it(
    "GIVEN the configuration defaults THEN the budget follows the host (no fixed budget) with a 2048 MiB reserve; a budget below 256 " +
      "MiB is refused",
    () => {
      expect(parseConfig(minimal).memory).toEqual({ hostReserveMiB: 2048 });
      expect(parseConfig(minimal).health).toEqual({ timeoutMs: 2_000 });
      expect(() => parseConfig({ ...minimal, memory: { budgetMiB: 10 } })).toThrow(/config\.memory\.budgetMiB/);
    },
  );

  it(
    "GIVEN running, paused and exited containers THEN only those holding memory count, each by its own limit (its kind's limit when " +
      "it has none)",
    () => {
      const MiB = 1024 * 1024;
      const view = {
        all: () => [
          { kind: "app", owner: "a", status: "running", memoryBytes: 512 * MiB },
          { kind: "sandbox", owner: "a", status: "paused", memoryBytes: 0 },
          { kind: "sandbox", owner: "a", status: "exited", memoryBytes: 4096 * MiB },
        ],
      } as never;
      const budget = new MemoryBudget(2000, view, { appMiB: 256, sandboxMiB: 1000 });
      expect(budget.usedMiB()).toBe(1512);
      expect(budget.refusal("app", 0)).toBeUndefined();
      expect(budget.refusal("app", 300)).toMatch(/already hold 1812 MiB of its 2000 MiB budget, and your OpenHands app needs 256 MiB more/);
      expect(budget.refusal("sandbox", 0)).toMatch(/a new sandbox needs 1000 MiB more/);
      // the user's own running app is not counted twice when it is ensured again
      expect(budget.refusal("app", 300, (c) => c.kind === "app" && c.owner === "a")).toBeUndefined();
      // a paused sandbox being unpaused already holds its memory: counted once (its own limit, here the kind's 1000 MiB)
      expect(budget.refusal("sandbox", 0, (c) => c.kind === "sandbox" && c.status === "paused")).toBeUndefined();
      expect(budget.refusal("sandbox", 0, (c) => c.kind === "sandbox" && c.owner === "b")).toMatch(/a new sandbox needs 1000 MiB more/);
    },
  );
});
