/**
 * The built host bundle (dist/host-bundle): this package's files plus the sibling packages' artifacts,
 * byte for byte, with normalised modes (the zip the compute stack makes keeps 0755/0644).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { BUNDLE_DIR } from "./support/dry-run";

function files(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? files(path) : [path];
    });
}

const siblings = join(__dirname, "..", "node_modules", "@openhands-team");

describe("host bundle", () => {
  it("GIVEN the built package (what the compute stack imports) THEN HOST_BUNDLE_DIR names the built bundle folder", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const built = require("../dist/lib/index.js") as { HOST_BUNDLE_DIR: string; renderUserData: unknown };
    expect(built.HOST_BUNDLE_DIR).toBe(BUNDLE_DIR);
    expect(typeof built.renderUserData).toBe("function");
  });

  it("GIVEN the runtime proxy's dist THEN the bundle carries every file of it unchanged", () => {
    const source = join(siblings, "runtime-proxy", "dist");
    const names = files(source).map((p) => relative(source, p));
    expect(names).toContain("render.js");
    for (const name of names)
      expect([name, readFileSync(join(BUNDLE_DIR, "runtime-proxy", name)).equals(readFileSync(join(source, name)))]).toEqual([name, true]);
    expect(files(join(BUNDLE_DIR, "runtime-proxy")).map((p) => relative(join(BUNDLE_DIR, "runtime-proxy"), p))).toEqual(names);
  });

  it("GIVEN the spawner's bundle THEN the bundle carries spawner.js unchanged", () => {
    expect(
      readFileSync(join(BUNDLE_DIR, "spawner", "spawner.js")).equals(readFileSync(join(siblings, "spawner", "dist", "spawner.js"))),
    ).toBe(true);
  });

  it("GIVEN the bundle THEN every file is 0755 or 0644 and exactly the programs are executable", () => {
    const modes = files(BUNDLE_DIR).map((p) => [relative(BUNDLE_DIR, p), (statSync(p).mode & 0o777).toString(8)]);
    expect(modes.filter(([, mode]) => mode !== "755" && mode !== "644")).toEqual([]);
    expect(
      modes
        .filter(([name, mode]) => mode === "755" && !name!.startsWith("runtime-proxy/") && !name!.startsWith("spawner/"))
        .map(([name]) => name),
    ).toEqual(["bin/oh-health-check.sh", "firewall/oh-firewall.sh", "install.sh", "steps/50-secrets.sh"]);
    expect(readFileSync(join(BUNDLE_DIR, "BUNDLE_ID"), "utf8")).toMatch(/^[0-9a-f]{16}\n$/);
  });
});
