/**
 * The user's folders on EFS:
 *   <efsRoot>/users/<slug>/openhands   mounted at /.openhands in the app (settings.json, secrets.json,
 *                                      OH_PERSISTENCE_DIR); the app runs as root
 *   <efsRoot>/users/<slug>/workspace   mounted at /workspace in each sandbox (agent state in
 *                                      /workspace/conversations); owned by the sandbox user (uid 10001)
 *   <efsRoot>/users/<slug>/sandboxes   create records of the user's sandboxes; read by the spawner only
 */
import { chmodSync, chownSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "./log";
import { isUserSlug } from "./slug";

export interface UserPaths {
  root: string;
  openhands: string;
  workspace: string;
  sandboxRecords: string;
}

export function userPaths(efsRoot: string, slug: string): UserPaths {
  // Path traversal: only a well-formed slug ever becomes part of a path.
  if (!isUserSlug(slug)) throw new Error(`not a user slug: ${JSON.stringify(slug)}`);
  const root = join(efsRoot, "users", slug);
  return { root, openhands: join(root, "openhands"), workspace: join(root, "workspace"), sandboxRecords: join(root, "sandboxes") };
}

export class UserDirectories {
  private warnedNotRoot = false;

  constructor(
    private readonly efsRoot: string,
    private readonly workspaceUid: number,
    private readonly log: Logger,
  ) {}

  /** Creates the folders (idempotent) and sets their owners; without root the owners are left as they are. */
  ensure(slug: string): UserPaths {
    const paths = userPaths(this.efsRoot, slug);
    const isRoot = process.getuid?.() === 0;
    const make = (path: string, mode: number, uid: number) => {
      mkdirSync(path, { recursive: true, mode });
      chmodSync(path, mode);
      if (isRoot) {
        const stat = statSync(path);
        if (stat.uid !== uid || stat.gid !== uid) chownSync(path, uid, uid);
      }
    };
    make(paths.root, 0o755, 0);
    make(paths.openhands, 0o700, 0);
    make(paths.workspace, 0o750, this.workspaceUid);
    make(paths.sandboxRecords, 0o700, 0);
    if (!isRoot && !this.warnedNotRoot) {
      this.warnedNotRoot = true;
      this.log.warn("not running as root: EFS folder owners left unchanged", { workspaceUid: this.workspaceUid });
    }
    return paths;
  }
}
