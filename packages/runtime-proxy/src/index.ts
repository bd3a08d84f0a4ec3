export { parseSettings, SettingsError } from "./settings";
export type { ProxySettings } from "./settings";
export { DEBIAN_MODULES, DEFAULT_LUA_DIR, main, renderNginxConf, renderToDir } from "./render";
