/**
 * Pure Lua modules (host parsing, identity signatures, URL rewriting, cookies, upstream addresses),
 * run outside nginx with LuaJIT (Debian package luajit2, the OpenResty branch). Each Lua case
 * becomes a jest test.
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";

const dir = join(__dirname, "lua");
const specs = readdirSync(dir)
  .filter((f) => f.endsWith("_spec.lua"))
  .map((f) => join(dir, f));
const run = spawnSync("luajit", [join(dir, "run.lua"), ...specs], { encoding: "utf8" });
const lines = (run.stdout ?? "")
  .split("\n")
  .filter(Boolean)
  .map((line) => line.split("\t"));

describe("pure Lua modules (luajit)", () => {
  it("GIVEN the Lua specs WHEN luajit runs them THEN it exits cleanly with results", () => {
    expect(run.error).toBeUndefined();
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(lines.length).toBeGreaterThan(50);
  });

  it.each(lines.map(([verdict, name, error]) => [name ?? "?", verdict ?? "?", error ?? ""]))("%s", (_name, verdict, error) => {
    expect(error).toBe("");
    expect(verdict).toBe("PASS");
  });
});
