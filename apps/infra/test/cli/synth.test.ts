import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { configFile, itWithBuild, lastLine, REPOSITORY, run, SYNTH } from "./support";

const itBuilt = itWithBuild(SYNTH);

describe("GIVEN the synth command", () => {
  itBuilt(
    "WHEN asked for --help or -h THEN it prints the usage, the options, the defaults and the exit statuses, and writes nothing",
    () => {
      const { dir } = configFile();
      for (const flag of ["--help", "-h"]) {
        const result = run(SYNTH, [flag, "--out", join(dir, "out")]);
        expect(result.status).toBe(0);
        expect(result.stderr).toBe("");
        expect(result.stdout).toMatch(/^Usage: pnpm synth \[--config <file>\] \[--out <folder>\]/);
        expect(result.stdout).toContain("--config=<file>");
        expect(result.stdout).toContain("$OH_TEAM_CONFIG");
        expect(result.stdout).toMatch(/Exit status: 0 written; 2 invalid configuration/);
      }
      expect(readdirSync(dir)).toEqual(["deploy.yaml"]);
    },
  );

  itBuilt.each([
    ["--config", "<file>"],
    ["--config=<file>", ""],
    ["-c", "<file>"],
  ])("WHEN the configuration is given as %s %s THEN that file is used", (flag, value) => {
    const { dir, file } = configFile((raw) => (raw.name = "flagtest"));
    const args = value ? [flag, file] : [flag.replace("<file>", file)];
    const result = run(SYNTH, [...args, "--out", join(dir, "out")]);
    expect(result.stderr).not.toMatch(/invalid/);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`config: ${file}`);
    expect(readFileSync(join(dir, "out/stacks/network/cdk.tf.json"), "utf8")).toContain("flagtest-prod");
  });

  itBuilt("WHEN OH_TEAM_CONFIG names a file and --config another THEN --config wins", () => {
    const env = configFile((raw) => (raw.name = "fromenv"));
    const flag = configFile((raw) => (raw.name = "fromflag"));
    const result = run(SYNTH, ["--config", flag.file, "--out", join(flag.dir, "out")], { OH_TEAM_CONFIG: env.file });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`config: ${flag.file}`);
    const fromEnv = run(SYNTH, ["--out", join(env.dir, "out")], { OH_TEAM_CONFIG: env.file });
    expect(fromEnv.stdout).toContain(`config: ${env.file}`);
  });

  itBuilt(
    "WHEN the configuration is invalid THEN it exits 2, leaves the output folder as it was, and nothing follows its own message",
    () => {
      const { dir, file } = configFile((raw) => (raw.database.maxCapacity = 999));
      const out = join(dir, "cdktf.out");
      mkdirSync(out);
      writeFileSync(join(out, "previous.txt"), "previous output");
      const result = run(SYNTH, ["--config", file, "--out", out]);
      expect(result.status).toBe(2);
      expect(result.stdout).toBe("");
      expect(result.stderr).toMatch(
        new RegExp(
          `^${file.replace(/[.]/g, "\\.")}:\\d+:\\d+: config\\.database\\.maxCapacity: 999 is above 256 ACU \\(expected 1 to 256\\)$`,
          "m",
        ),
      );
      expect(lastLine(result.stderr)).toBe("Nothing was written.");
      expect(readdirSync(out)).toEqual(["previous.txt"]);
      expect(readdirSync(dir).sort()).toEqual(["cdktf.out", "deploy.yaml"]);
    },
  );

  itBuilt("WHEN the configuration is valid THEN it prints a summary on stdout and its progress on stderr", () => {
    const { dir } = configFile();
    const out = join(dir, "cdktf.out");
    const result = run(SYNTH, ["--out", out]);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^config: /m);
    expect(result.stdout).toMatch(/^network\s+eu-central-1\s+s3\s+\d+/m);
    expect(result.stdout).toMatch(/^edge\s+us-east-1\s+s3\s+\d+/m);
    expect(result.stdout).toMatch(/^monitoring\s+eu-central-1, us-east-1 \(alias us_east_1\)\s+s3/m);
    expect(result.stdout).toMatch(/6 stacks, \d+ resources, written to/);
    expect(result.stderr.trimEnd().split("\n")).toEqual([
      "synth: checking config/example.yaml",
      "synth: building the 6 stacks (network, data, compute, auth, edge, monitoring)",
      "synth: synthesizing Terraform JSON and checking the constructs",
      `synth: writing ${out}`,
    ]);
    expect(readdirSync(join(out, "stacks")).sort()).toEqual(["auth", "compute", "data", "edge", "monitoring", "network"]);
  });

  itBuilt("WHEN run through pnpm (a -- separator, paths relative to where pnpm was started) THEN it finds the file", () => {
    const { dir } = configFile(() => {}, "mine.yaml");
    const result = run(SYNTH, ["--", "--config", "mine.yaml", "--out", "cdktf.out"], { INIT_CWD: dir });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`config: ${join(dir, "mine.yaml")}`);
    expect(readdirSync(join(dir, "cdktf.out/stacks"))).toContain("edge");
  });

  itBuilt.each([
    [["--bogus"], 'synth: unknown argument "--bogus"'],
    [["--config"], "synth: --config needs a value (--config <value> or --config=<value>)"],
    [["--config", "--out", "x"], "synth: --config needs a value (--config <value> or --config=<value>)"],
    [["stray.yaml"], 'synth: unexpected argument "stray.yaml" (a file goes after --config)'],
  ])("WHEN given %j THEN it refuses it with exit 2 and the usage line", (args, message) => {
    const result = run(SYNTH, args);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr.split("\n")).toEqual([message, "Usage: pnpm synth [--config <file>] [--out <folder>] (--help for more)", ""]);
  });
});

describe("GIVEN pnpm synth at the repository root", () => {
  const script = JSON.parse(readFileSync(join(REPOSITORY, "package.json"), "utf8")).scripts.synth as string;

  it("THEN the CLI runs directly by node after the build, so its exit status is the command's", () => {
    expect(script).toMatch(/&& node apps\/infra\/dist\/src\/main\.js$/);
    expect(script).not.toMatch(/pnpm .*run synth/);
    expect(script).toMatch(/^echo 'synth: building [^']+' >&2 && turbo run build /);
  });

  itBuilt("WHEN the configuration is invalid THEN pnpm synth exits 2 and only pnpm's one status line follows the CLI's message", () => {
    const { file } = configFile((raw) => (raw.region = "moon-1"));
    const env: NodeJS.ProcessEnv = { ...process.env, OH_TEAM_CONFIG: file };
    delete env.INIT_CWD;
    const result = spawnSync("pnpm", ["synth"], { cwd: REPOSITORY, encoding: "utf8", env });
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("synth: building the infra app");
    expect(result.stderr).toMatch(/config\.region: "moon-1" is not an AWS region/);
    expect(result.status).toBe(2);
    const after = result.stderr.slice(result.stderr.lastIndexOf("Nothing was written.") + "Nothing was written.".length).trim();
    // pnpm 12 prints this one line after any script that fails (--silent and --reporter=silent do not remove it);
    // the nested `pnpm --filter ... run synth` that also printed ERR_PNPM_RECURSIVE_RUN_FIRST_FAIL and exited 1 is gone.
    expect(after).toBe("[ELIFECYCLE] Command failed with exit code 2.");
    expect(result.stderr).not.toContain("ERR_PNPM");
  });
});
