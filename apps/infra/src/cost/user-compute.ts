/**
 * Users' compute in the two modes, for `pnpm cost`: in docker mode the host is sized for the users' apps and sandboxes
 * and paid by the hour whether they work or not; in ecs mode a small host keeps the proxy, spawner and LLM gateway and
 * each user's app and sandboxes are Fargate tasks paid for the hours they run (until the idle cull stops them). Every
 * figure here rests on the assumptions below, which the output prints.
 */
import type { DeploymentConfig } from "../config/schema";
import { weeklyHours } from "./estimate";
import { EC2_HOURLY, FARGATE_PRICES, FARGATE_SPOT_DISCOUNT, HOURS_PER_MONTH, PRICES } from "./prices";

/**
 * The spawner's defaults (packages/spawner/src/config.ts `limits` and `memory`): the memory and CPU of each app and
 * sandbox, and what the host keeps for its own services. Memory admission sums these limits against the host's budget.
 */
export const SPAWNER_LIMITS = {
  appMemoryMiB: 2048,
  appCpus: 1,
  sandboxMemoryMiB: 4096,
  sandboxCpus: 2,
  hostReserveMiB: 2048,
} as const;

/** How a person works: what the Terraform cannot tell. */
export interface ActivityProfile {
  readonly workdaysPerMonth: number;
  /** Hours a workday with the app in use. */
  readonly activeHoursPerWorkday: number;
  /** Sessions a workday; each ends with the idle cull's wait before the app and its sandboxes stop. */
  readonly sessionsPerWorkday: number;
  /** Sandboxes running while the app runs, on average. */
  readonly sandboxesPerActiveUser: number;
  /** Compressed image bytes pulled through the NAT at each task start (Fargate caches no image between tasks). */
  readonly appImageGb: number;
  readonly agentServerImageGb: number;
}

export const DEFAULT_ACTIVITY: ActivityProfile = {
  workdaysPerMonth: 21,
  activeHoursPerWorkday: 6,
  sessionsPerWorkday: 2,
  sandboxesPerActiveUser: 1,
  appImageGb: 1,
  agentServerImageGb: 1.5,
};

/** MemTotal over nominal memory on Graviton hosts: 15819 MiB of 16 GiB (the spawner's memory-budget test's m7g.xlarge). */
const MEM_TOTAL_RATIO = 15819 / 16384;

/** The m7g sizes the sizing table covers, with their nominal memory. */
export const HOST_SIZES = [
  { type: "m7g.large", memoryGiB: 8 },
  { type: "m7g.xlarge", memoryGiB: 16 },
  { type: "m7g.2xlarge", memoryGiB: 32 },
  { type: "m7g.4xlarge", memoryGiB: 64 },
] as const;

/** Memory one active user holds in docker mode: their app and their running sandboxes. */
export function memoryPerActiveUserMiB(profile: ActivityProfile = DEFAULT_ACTIVITY): number {
  return SPAWNER_LIMITS.appMemoryMiB + profile.sandboxesPerActiveUser * SPAWNER_LIMITS.sandboxMemoryMiB;
}

/** Active users one host of `memoryGiB` serves in docker mode: the spawner's memory budget over each user's limits. */
export function activeUsersPerHost(memoryGiB: number, profile: ActivityProfile = DEFAULT_ACTIVITY): number {
  const budget = Math.floor(memoryGiB * 1024 * MEM_TOTAL_RATIO) - SPAWNER_LIMITS.hostReserveMiB;
  return Math.max(0, Math.floor(budget / memoryPerActiveUserMiB(profile)));
}

/** Task hours a month of one user's app (and of each of their sandboxes): active time plus the idle cull's wait. */
export function taskHoursPerUser(idleMinutes: number, profile: ActivityProfile = DEFAULT_ACTIVITY): number {
  return profile.workdaysPerMonth * (profile.activeHoursPerWorkday + (profile.sessionsPerWorkday * idleMinutes) / 60);
}

export interface EcsUserCost {
  readonly hours: number;
  /** The app task: ARM64, Fargate on-demand. */
  readonly app: number;
  /** The sandbox tasks: ARM64, Fargate Spot. */
  readonly sandboxes: number;
  /** Image pulls through the NAT at every start. */
  readonly imagePulls: number;
  readonly total: number;
}

/** One active user's monthly cost in ecs mode. */
export function ecsCostPerUser(idleMinutes: number, profile: ActivityProfile = DEFAULT_ACTIVITY): EcsUserCost {
  const hours = taskHoursPerUser(idleMinutes, profile);
  const gb = (mib: number) => mib / 1024;
  const app =
    hours * (SPAWNER_LIMITS.appCpus * FARGATE_PRICES.armVcpuHour.usd + gb(SPAWNER_LIMITS.appMemoryMiB) * FARGATE_PRICES.armGbHour.usd);
  const spot = 1 - FARGATE_SPOT_DISCOUNT;
  const sandboxes =
    profile.sandboxesPerActiveUser *
    hours *
    spot *
    (SPAWNER_LIMITS.sandboxCpus * FARGATE_PRICES.armVcpuHour.usd + gb(SPAWNER_LIMITS.sandboxMemoryMiB) * FARGATE_PRICES.armGbHour.usd);
  const starts = profile.workdaysPerMonth * profile.sessionsPerWorkday;
  const imagePulls = starts * (profile.appImageGb + profile.sandboxesPerActiveUser * profile.agentServerImageGb) * PRICES.natGb.usd;
  return { hours, app, sandboxes, imagePulls, total: app + sandboxes + imagePulls };
}

export interface ModeComparisonRow {
  readonly users: number;
  /** The smallest m7g host of the table that serves them in docker mode, and its monthly cost; none past the largest. */
  readonly docker?: { readonly type: string; readonly monthly: number };
  readonly ecs: number;
}

export interface ModeComparison {
  readonly hostHours: number;
  readonly ecsHostType: string;
  readonly ecsHostMonthly: number;
  readonly perUser: EcsUserCost;
  readonly rows: readonly ModeComparisonRow[];
  /** The smallest team from which ecs mode costs less at every size docker mode can serve, or undefined. */
  readonly ecsCheaperFrom?: number;
  /** The team sizes docker mode serves at which ecs mode costs less. */
  readonly ecsCheaperAt: readonly number[];
  /** The most active users one host of the table serves in docker mode. */
  readonly dockerMaxUsers: number;
}

/**
 * Docker mode against ecs mode for 1 to `maxUsers` active users, host hours from the configuration's office hours.
 * The ecs-mode host is the configured type in ecs mode, else m7g.large (it runs no user containers).
 */
export function compareModes(config: DeploymentConfig, maxUsers = 12, profile: ActivityProfile = DEFAULT_ACTIVITY): ModeComparison {
  const office = config.cost.officeHours;
  const weekly = office ? weeklyHours(office.start, office.stop) : undefined;
  const hostHours = weekly ? (weekly * 52) / 12 : HOURS_PER_MONTH;
  const hostMonthly = (type: string) => (EC2_HOURLY[type]?.usd ?? Number.NaN) * hostHours;
  const ecsHostType = config.compute.mode === "ecs" ? config.compute.instanceType : "m7g.large";
  const perUser = ecsCostPerUser(config.users.idleMinutes, profile);
  const rows: ModeComparisonRow[] = [];
  for (let users = 1; users <= maxUsers; users++) {
    const size = HOST_SIZES.find((s) => activeUsersPerHost(s.memoryGiB, profile) >= users);
    rows.push({
      users,
      ...(size ? { docker: { type: size.type, monthly: hostMonthly(size.type) } } : {}),
      ecs: hostMonthly(ecsHostType) + users * perUser.total,
    });
  }
  const dockerMaxUsers = Math.max(...HOST_SIZES.map((s) => activeUsersPerHost(s.memoryGiB, profile)));
  const served = rows.filter((r) => r.docker);
  const firstAlwaysCheaper = served.findIndex((_, i) => served.slice(i).every((r) => r.ecs < r.docker!.monthly));
  return {
    hostHours,
    ecsHostType,
    ecsHostMonthly: hostMonthly(ecsHostType),
    perUser,
    rows,
    dockerMaxUsers,
    ecsCheaperAt: served.filter((r) => r.ecs < r.docker!.monthly).map((r) => r.users),
    ...(firstAlwaysCheaper >= 0 ? { ecsCheaperFrom: served[firstAlwaysCheaper]!.users } : {}),
  };
}

/** The comparison as `pnpm cost` prints it, assumptions first. */
export function formatModeComparison(c: ModeComparison, idleMinutes: number, profile: ActivityProfile = DEFAULT_ACTIVITY): string {
  const usd = (n: number) => `$${n.toFixed(2)}`;
  const out = [
    "",
    "Users' compute, docker mode against ecs mode (a month; the ALB, Aurora, EFS, S3 and the edge are the same in both):",
    `Assumed activity: ${profile.workdaysPerMonth} workdays, ${profile.activeHoursPerWorkday} active hours and ` +
      `${profile.sessionsPerWorkday} sessions a workday, each session ending with the ${idleMinutes}-minute idle cull: ` +
      `${c.perUser.hours.toFixed(0)} task hours per user; ${profile.sandboxesPerActiveUser} sandbox running while the app runs.`,
    `Assumed tasks: app ${SPAWNER_LIMITS.appCpus} vCPU / ${SPAWNER_LIMITS.appMemoryMiB / 1024} GiB on Fargate ARM64 on-demand ` +
      `($${FARGATE_PRICES.armVcpuHour.usd}/vCPU-h, $${FARGATE_PRICES.armGbHour.usd}/GB-h); sandbox ${SPAWNER_LIMITS.sandboxCpus} vCPU / ` +
      `${SPAWNER_LIMITS.sandboxMemoryMiB / 1024} GiB on Fargate Spot ARM64 (platform 1.4.0 or later) at ` +
      `${FARGATE_SPOT_DISCOUNT * 100} % off ARM64 on-demand (Spot prices move); ` +
      `images pulled through the NAT at every start (app ${profile.appImageGb} GB, agent-server ${profile.agentServerImageGb} GB, ` +
      `$${PRICES.natGb.usd}/GB). Fargate prices: ${FARGATE_PRICES.armVcpuHour.source}.`,
    `Assumed docker host: the spawner's memory budget (MemTotal, about ${(MEM_TOTAL_RATIO * 100).toFixed(1)} % of the nominal memory, ` +
      `less ${SPAWNER_LIMITS.hostReserveMiB} MiB for the host's services) over ${memoryPerActiveUserMiB(profile)} MiB per active user ` +
      `(app ${SPAWNER_LIMITS.appMemoryMiB} + sandbox ${SPAWNER_LIMITS.sandboxMemoryMiB} MiB); ` +
      `hosts run ${c.hostHours.toFixed(0)} h a month.`,
    `  per active user in ecs mode: app ${usd(c.perUser.app)} + sandbox ${usd(c.perUser.sandboxes)} + image pulls ` +
      `${usd(c.perUser.imagePulls)} = ${usd(c.perUser.total)}; ecs-mode host ${c.ecsHostType} ${usd(c.ecsHostMonthly)}`,
    `  ${"users".padEnd(6)}${"docker mode".padEnd(26)}ecs mode`,
  ];
  for (const row of c.rows) {
    const docker = row.docker ? `${usd(row.docker.monthly)} (${row.docker.type})` : `none (over ${c.dockerMaxUsers} a host)`;
    out.push(`  ${String(row.users).padEnd(6)}${docker.padEnd(26)}${usd(row.ecs)}`);
  }
  const beyond = `beyond ${c.dockerMaxUsers} active users only ecs mode serves them.`;
  out.push(
    c.ecsCheaperFrom !== undefined
      ? `ECS mode costs less from ${c.ecsCheaperFrom} active user${c.ecsCheaperFrom === 1 ? "" : "s"} on; ${beyond}`
      : c.ecsCheaperAt.length
        ? `ECS mode costs less at ${c.ecsCheaperAt.join(", ")} active users (docker mode at the others, where a host size is ` +
          `nearly full); ${beyond}`
        : `ECS mode costs more than docker mode at every team size one host serves; ${beyond}`,
  );
  return out.join("\n");
}
