// Build step: dist/ gets the compiled renderer (tsc, run before this), the Lua modules and the template.
import { cpSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(root, "dist");
for (const folder of ["lua", "conf"]) {
  rmSync(join(dist, folder), { recursive: true, force: true });
  cpSync(join(root, folder), join(dist, folder), { recursive: true });
}
rmSync(join(dist, "BUILD"), { force: true });
