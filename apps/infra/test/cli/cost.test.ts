import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CONFIDENCE_LEGEND } from "../../src/cost/prices";
import { configFile, COST, itWithBuild, lastLine, REPOSITORY, run } from "./support";

const itBuilt = itWithBuild(COST);

/** The example moved to us-east-1, the region the price table holds. */
const inUsEast1 = (raw: Record<string, any>) => {
  raw.region = "us-east-1";
  raw.stateBackend.region = "us-east-1";
  raw.bedrock.models = ["us.anthropic.claude-sonnet-4-5-20250929-v1:0"];
};

describe("GIVEN the cost command", () => {
  itBuilt("WHEN asked for --help THEN it prints the usage with both --config forms and OH_TEAM_CONFIG", () => {
    const result = run(COST, ["--help"]);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^Usage: pnpm cost \[--config <file>\]/);
    expect(result.stdout).toContain("--config=<file>");
    expect(result.stdout).toContain("$OH_TEAM_CONFIG");
  });

  itBuilt("WHEN OH_TEAM_CONFIG names a configuration THEN that deployment is priced, not the example", () => {
    const { file } = configFile((raw) => {
      raw.name = "fromenv";
      raw.compute.instanceType = "m7g.2xlarge";
    });
    const result = run(COST, [], { OH_TEAM_CONFIG: file });
    expect(result.stderr).not.toMatch(/invalid/);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`Monthly estimate for fromenv-prod (${file}, main region eu-central-1)`);
    expect(result.stdout).toMatch(/EC2 m7g\.2xlarge x1\s+\$ 238\.27/);
  });

  itBuilt.each([
    ["--config", true],
    ["--config=", false],
  ])("WHEN the configuration is given as %s THEN it wins over OH_TEAM_CONFIG", (flag, separate) => {
    const env = configFile((raw) => (raw.name = "fromenv"));
    const chosen = configFile((raw) => (raw.name = "fromflag"));
    const result = run(COST, separate ? [flag, chosen.file] : [`${flag}${chosen.file}`], { OH_TEAM_CONFIG: env.file });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("Monthly estimate for fromflag-prod");
  });

  itBuilt(
    "WHEN the main region has no prices in the table THEN the estimate says so and marks every figure that borrows us-east-1's",
    () => {
      const result = run(COST, []);
      expect(result.status).toBe(0);
      expect(result.stdout).toMatch(
        /^Warning: the price table has no prices for eu-central-1; the \d+ lines marked \* use us-east-1's prices there/m,
      );
      expect(result.stdout).toMatch(/^ {2}EC2 m7g\.xlarge x1 +\$ 119\.14 +\[V\]\* +.*\(eu-central-1\)$/m);
      expect(result.stdout).toMatch(/^ {2}WAF x1 web ACLs.*\[V\] +.*\(us-east-1\)$/m);
      expect(result.stdout).toMatch(/\* priced at us-east-1's price, the table has none for eu-central-1/);
    },
  );

  itBuilt("WHEN the main region is us-east-1 THEN no figure is marked as borrowed", () => {
    const { file } = configFile(inUsEast1);
    const result = run(COST, ["--config", file]);
    expect(result.stderr).not.toMatch(/invalid/);
    expect(result.status).toBe(0);
    expect(result.stdout).not.toContain("Warning:");
    expect(result.stdout).not.toMatch(/\]\*/);
    expect(result.stdout).toContain("main region us-east-1");
  });

  itBuilt("WHEN the ECS-mode example is priced THEN the small host is priced and docker mode is set against ecs mode", () => {
    const result = run(COST, ["--config", "config/example-ecs.yaml"]);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^ {2}EC2 m7g\.large x1 +\$ {2}59\.57 /m);
    expect(result.stdout).toContain("Users' compute, docker mode against ecs mode");
    expect(result.stdout).toMatch(/^Assumed activity: .* 168 task hours per user;/m);
    expect(result.stdout).toMatch(/^ {2}per active user in ecs mode: app \$6\.64 \+ sandbox \$6\.64 \+ image pulls \$4\.72 = \$18\.00; /m);
    expect(result.stdout).toMatch(/^ECS mode costs less from 1 active user on; beyond 9 active users only ecs mode serves them\.$/m);
  });

  itBuilt("THEN a legend explains every marker the estimate prints", () => {
    const result = run(COST, []);
    const used = [...new Set([...result.stdout.matchAll(/ \[(V|3P|K|EST)\]/g)].map((m) => m[1]!))];
    expect(used.length).toBeGreaterThan(2);
    const legend = result.stdout.split("\n").find((l) => l.startsWith("Markers: "))!;
    for (const mark of used) expect(legend).toContain(`[${mark}] ${CONFIDENCE_LEGEND[mark as keyof typeof CONFIDENCE_LEGEND]}`);
  });

  itBuilt("WHEN the configuration is invalid THEN it exits 2 with the positions and nothing after the message", () => {
    const { file } = configFile((raw) => (raw.compute.instanceType = "m7i.large"));
    const result = run(COST, ["--config", file]);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe("");
    expect(lastLine(result.stderr)).toMatch(
      new RegExp(
        `^${file.replace(/[.]/g, "\\.")}:\\d+:\\d+: config\\.compute\\.instanceType: "m7i\\.large" is not a Graviton instance type`,
      ),
    );
  });

  itBuilt("WHEN given an unknown argument THEN it exits 2 with the usage line", () => {
    const result = run(COST, ["--out", "x"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toBe('cost: unknown argument "--out"\nUsage: pnpm cost [--config <file>] (--help for more)\n');
  });
});

describe("GIVEN pnpm cost at the repository root", () => {
  it("THEN the CLI runs directly by node after the build", () => {
    const script = JSON.parse(readFileSync(join(REPOSITORY, "package.json"), "utf8")).scripts.cost as string;
    expect(script).toMatch(/&& node apps\/infra\/dist\/src\/cost\/cli\.js$/);
  });

  itBuilt("WHEN OH_TEAM_CONFIG names a configuration THEN pnpm cost prices it", () => {
    const { file } = configFile((raw) => (raw.name = "viapnpm"));
    const env: NodeJS.ProcessEnv = { ...process.env, OH_TEAM_CONFIG: file };
    delete env.INIT_CWD;
    const result = spawnSync("pnpm", ["cost"], { cwd: REPOSITORY, encoding: "utf8", env });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("Monthly estimate for viapnpm-prod");
  });
});
