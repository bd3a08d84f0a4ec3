import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith(".ts") ? [path] : [];
  });
}

describe("GIVEN the infra sources", () => {
  const files = [...sources(join(__dirname, "../../src")), ...sources(join(__dirname, ".."))];

  it("THEN none imports the @cdktf/provider-aws barrel (seconds of load time and hundreds of MB per test file)", () => {
    const barrel = /from\s+["']@cdktf\/provider-aws["']|require\(\s*["']@cdktf\/provider-aws["']\s*\)/;
    const offenders = files.filter((f) => barrel.test(readFileSync(f, "utf8")));
    expect(offenders).toEqual([]);
    expect(files.length).toBeGreaterThan(5);
  });

  it("THEN only the CLI entry points (synth, cost) and their options module read process.env", () => {
    const readers = files
      .filter((f) => f.includes("/src/"))
      .filter((f) => /process\.env/.test(readFileSync(f, "utf8")))
      .map((f) => f.slice(f.indexOf("/src/") + 1));
    expect(readers.filter((f) => !["src/cli-options.ts", "src/main.ts", "src/cost/cli.ts"].includes(f))).toEqual([]);
  });
});
