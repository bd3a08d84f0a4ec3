/**
 * The Lua module `oh.page_assets`: the shared stylesheet and layout of packages/contracts (src/pages.ts), written
 * into the proxy's Lua at build time (build/render.mjs writes dist/lua/oh/page_assets.lua) so that the host needs
 * no Node package to serve a page. The copy in lua/ is what the tests run; a test fails when it differs from this.
 */
export interface PageAssets {
  readonly style: string;
  readonly layout: string;
}

/** A Lua long string holding `text` exactly: a level of `=` that `text` never closes. */
function longString(text: string): string {
  let level = "=";
  while (text.includes(`]${level}]`)) level += "=";
  // A leading newline right after the opening bracket would be dropped by Lua: the value starts on the same line.
  return `[${level}[${text}]${level}]`;
}

export function pageAssetsLua(assets: PageAssets): string {
  return [
    "-- Written from packages/contracts/src/pages.ts by the runtime-proxy build (src/page-assets.ts); do not edit.",
    "return {",
    `  style = ${longString(assets.style)},`,
    `  layout = ${longString(assets.layout)},`,
    "}",
    "",
  ].join("\n");
}
