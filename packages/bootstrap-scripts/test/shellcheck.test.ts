/**
 * Every shell script of the host bundle (as built, in dist/host-bundle), the bootstrap script embedded in
 * the user data and the test stubs pass shellcheck at its strictest severity, following sourced files.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { BOOTSTRAP_SCRIPT } from "../src/user-data";
import { BUNDLE_DIR } from "./support/dry-run";

function files(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? files(path) : [path];
    });
}

/** Shell scripts: by extension or by a shell shebang or shellcheck directive on the first line. */
function isShell(path: string): boolean {
  if (/\.(sh|env)$/.test(path)) return true;
  const first = readFileSync(path, "utf8").split("\n", 1)[0] ?? "";
  return /^#!.*\b(ba)?sh\b/.test(first) || /^# shellcheck shell=/.test(first);
}

function shellcheck(paths: string[]): { status: number | null; output: string } {
  const result = spawnSync("shellcheck", ["--external-sources", "--severity=style", "--format=gcc", ...paths], {
    encoding: "utf8",
    cwd: "/",
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

const ownScripts = files(BUNDLE_DIR).filter(
  (p) => !p.includes(`${join(BUNDLE_DIR, "runtime-proxy")}`) && !p.includes(join(BUNDLE_DIR, "spawner")) && isShell(p),
);

describe("shellcheck", () => {
  it("GIVEN the built host bundle THEN it holds the installer, its steps, the firewall and the watchdog as shell scripts", () => {
    const names = ownScripts.map((p) => relative(BUNDLE_DIR, p));
    expect(names).toEqual(
      expect.arrayContaining([
        "install.sh",
        "lib/common.sh",
        "versions.env",
        "firewall/oh-firewall.sh",
        "bin/oh-health-check.sh",
        "steps/50-secrets.sh",
      ]),
    );
    expect(names.filter((n) => n.startsWith("steps/")).length).toBeGreaterThanOrEqual(9);
  });

  it("GIVEN every script of the host bundle WHEN shellcheck runs THEN it reports nothing", () => {
    expect(shellcheck(ownScripts)).toEqual({ status: 0, output: "" });
  });

  it("GIVEN the bootstrap script of the user data and the test stubs WHEN shellcheck runs THEN it reports nothing", () => {
    const dir = mkdtempSync(join(tmpdir(), "oh-shellcheck-"));
    try {
      const bootstrap = join(dir, "oh-bootstrap");
      writeFileSync(bootstrap, BOOTSTRAP_SCRIPT);
      expect(shellcheck([bootstrap, join(__dirname, "support", "fake-host.sh")])).toEqual({ status: 0, output: "" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("GIVEN a script with a classic mistake WHEN shellcheck runs THEN it reports it (the check can fail)", () => {
    const dir = mkdtempSync(join(tmpdir(), "oh-shellcheck-"));
    try {
      const bad = join(dir, "bad.sh");
      writeFileSync(bad, "#!/usr/bin/env bash\nfor f in $(ls *.txt); do rm $f; done\n");
      const result = shellcheck([bad]);
      expect(result.status).not.toBe(0);
      expect(result.output).toMatch(/SC2045|SC2086/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
