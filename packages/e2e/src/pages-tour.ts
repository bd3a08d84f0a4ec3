/**
 * The pages a person meets outside OpenHands (the edge's and the proxy's own), checked in Chromium and kept as
 * screenshots in a light and a dark colour scheme under `<artifacts>/pages/`. Pages the stack can be brought to show
 * are taken from the real stack; the proxy's failed-start and full-host pages, which need a failing spawner, are
 * rendered by the proxy's own Lua page module (luajit, the same code nginx runs) and loaded into Chromium.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Page } from "playwright-core";

export const COLOUR_SCHEMES = ["light", "dark"] as const;

/** Saves `<artifacts>/pages/<name>-light.png` and `-dark.png` of what the page shows now; back to light after. */
export async function screenshotBothSchemes(page: Page, artifactsDir: string, name: string): Promise<string[]> {
  const dir = join(artifactsDir, "pages");
  mkdirSync(dir, { recursive: true });
  const paths: string[] = [];
  for (const colorScheme of COLOUR_SCHEMES) {
    await page.emulateMedia({ colorScheme });
    const path = join(dir, `${name}-${colorScheme}.png`);
    await page.screenshot({ path, fullPage: true });
    paths.push(path);
  }
  await page.emulateMedia({ colorScheme: "light" });
  return paths;
}

/** The page's background and text colours as the browser computed them (light and dark must differ). */
export async function pageColours(page: Page, colorScheme: "light" | "dark"): Promise<{ background: string; text: string }> {
  await page.emulateMedia({ colorScheme });
  const colours = await page.evaluate(() => {
    const style = getComputedStyle(document.body);
    return { background: style.backgroundColor, text: style.color };
  });
  await page.emulateMedia({ colorScheme: "light" });
  return colours;
}

/** Collects the console's Content-Security-Policy complaints of a page from now on (a blocked style or script). */
export function watchCspViolations(page: Page): string[] {
  const violations: string[] = [];
  page.on("console", (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  return violations;
}

/**
 * HTML of one of the proxy's pages from its Lua module. @param luaDir the runtime proxy's `lua/` (where `oh/pages.lua` is)
 * @param call a Lua expression on `pages`, e.g. `pages.start_failed("database", "abc", "/")`
 */
export function proxyPageHtml(luaDir: string, call: string): string {
  const script = `package.path = ${JSON.stringify(`${luaDir}/?.lua;`)} .. package.path
local pages = require "oh.pages"
pages.configure("openhands.e2e.test")
io.write(${call})`;
  const run = spawnSync("luajit", ["-e", script], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`luajit could not render ${call}: ${run.stderr || run.error?.message}`);
  return run.stdout;
}

/** The runtime proxy's built Lua folder (dist/lua, with the page assets the build wrote from packages/contracts). */
export function proxyLuaDir(): string {
  return join(dirname(require.resolve("@openhands-team/runtime-proxy/package.json")), "dist", "lua");
}
