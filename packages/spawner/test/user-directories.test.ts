import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../src/log";
import { UserDirectories, userPaths } from "../src/user-directories";

describe("the user's EFS folders", () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "spawner-efs-"));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it(
    "GIVEN a slug THEN the app state, workspace and record folders exist with " + "their modes; as root the workspace belongs to uid 10001",
    () => {
      const lines: string[] = [];
      const dirs = new UserDirectories(root, 10001, createLogger({ write: (l) => lines.push(l) }));
      const paths = dirs.ensure("abcdefghijklmnop");
      dirs.ensure("abcdefghijklmnop");
      expect(paths.workspace).toBe(join(root, "users", "abcdefghijklmnop", "workspace"));
      expect(statSync(paths.openhands).mode & 0o777).toBe(0o700);
      expect(statSync(paths.workspace).mode & 0o777).toBe(0o750);
      expect(statSync(paths.sandboxRecords).mode & 0o777).toBe(0o700);
      if (process.getuid?.() === 0) {
        expect(statSync(paths.workspace).uid).toBe(10001);
        expect(statSync(paths.openhands).uid).toBe(0);
      } else {
        // Without root, owners stay as they are, and the spawner says so once.
        expect(lines.filter((l) => l.includes("not running as root"))).toHaveLength(1);
      }
    },
  );

  it("GIVEN a slug with path characters THEN no folder is made (path traversal)", () => {
    expect(() => userPaths(root, "../../../etc/xx")).toThrow(/not a user slug/);
  });
});
