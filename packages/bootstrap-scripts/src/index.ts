import { join } from "node:path";

export { renderUserData, BOOTSTRAP_SCRIPT, BOOTSTRAP_SCRIPT_PATH, BOOTSTRAP_ENV_PATH, type UserDataParams } from "./user-data";

/** Folder of the host bundle (scripts, compose project, proxy config, spawner), built by this package. */
export const HOST_BUNDLE_DIR = join(__dirname, "..", "host-bundle");
