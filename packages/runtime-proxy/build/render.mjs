// Build step: dist/ gets the compiled renderer (tsc, run before this), the Lua modules and the template, and the
// pages' shared stylesheet and layout written from @openhands-team/contracts into dist/lua/oh/page_assets.lua.
import { cpSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(root, "dist");
for (const folder of ["lua", "conf"]) {
  rmSync(join(dist, folder), { recursive: true, force: true });
  cpSync(join(root, folder), join(dist, folder), { recursive: true });
}
rmSync(join(dist, "BUILD"), { force: true });

const require = createRequire(import.meta.url);
const { PAGE_LAYOUT, PAGE_STYLE } = require("@openhands-team/contracts");
const { pageAssetsLua } = require(join(dist, "page-assets.js"));
writeFileSync(join(dist, "lua", "oh", "page_assets.lua"), pageAssetsLua({ style: PAGE_STYLE, layout: PAGE_LAYOUT }));
