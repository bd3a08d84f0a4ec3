import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inflateRawSync } from "node:zlib";
import { deterministicZip, sha256Hex } from "../../src/constructs/compute/deterministic-zip";

/** A small bundle-like folder: an executable installer, a nested config file. */
function bundle(mtime: Date): string {
  const dir = mkdtempSync(join(tmpdir(), "oh-zip-"));
  writeFileSync(join(dir, "install.sh"), "#!/usr/bin/env bash\nset -euo pipefail\necho ok\n");
  chmodSync(join(dir, "install.sh"), 0o755);
  mkdirSync(join(dir, "conf"));
  writeFileSync(join(dir, "conf", "nginx.conf"), "events {}\n".repeat(50));
  for (const f of ["install.sh", "conf/nginx.conf"]) utimesSync(join(dir, f), mtime, mtime);
  return dir;
}

/** Central-directory entries: name, unix mode, uncompressed content. */
function entries(zip: Buffer): { name: string; mode: number; data: string }[] {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  let at = zip.readUInt32LE(end + 16);
  const out = [];
  for (let i = 0; i < zip.readUInt16LE(end + 10); i++) {
    const nameLength = zip.readUInt16LE(at + 28);
    const local = zip.readUInt32LE(at + 42);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    out.push({
      name: zip.subarray(at + 46, at + 46 + nameLength).toString(),
      mode: (zip.readUInt32LE(at + 38) >>> 16) & 0o777,
      data: inflateRawSync(zip.subarray(start, start + zip.readUInt32LE(at + 20))).toString(),
    });
    at += 46 + nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  return out;
}

describe("GIVEN the same bundle built twice at different times", () => {
  const first = deterministicZip(bundle(new Date("2020-01-01T00:00:00Z")));
  const second = deterministicZip(bundle(new Date("2026-11-28T12:34:56Z")));

  it("THEN both zips are byte-identical (same SHA-256, so no launch template change)", () => {
    expect(sha256Hex(first)).toBe(sha256Hex(second));
  });

  it("THEN entries are sorted, keep their content, and the installer stays executable", () => {
    expect(entries(first)).toEqual([
      { name: "conf/nginx.conf", mode: 0o644, data: "events {}\n".repeat(50) },
      { name: "install.sh", mode: 0o755, data: "#!/usr/bin/env bash\nset -euo pipefail\necho ok\n" },
    ]);
  });

  it("THEN Info-ZIP's unzip accepts it and extracts the executable bit", () => {
    const dir = mkdtempSync(join(tmpdir(), "oh-unzip-"));
    writeFileSync(join(dir, "b.zip"), first);
    const test = spawnSync("unzip", ["-t", "b.zip"], { cwd: dir, encoding: "utf8" });
    if (test.error) return console.warn("unzip is not installed; skipped the Info-ZIP cross-check");
    expect(test.status).toBe(0);
    expect(test.stdout).toContain("No errors detected");
    const list = spawnSync("zipinfo", ["b.zip", "install.sh"], { cwd: dir, encoding: "utf8" });
    expect(list.stdout).toMatch(/^-rwxr-xr-x/);
  });
});

describe("GIVEN a changed file", () => {
  it("THEN the SHA-256 changes", () => {
    const dir = bundle(new Date("2020-01-01T00:00:00Z"));
    const before = sha256Hex(deterministicZip(dir));
    writeFileSync(join(dir, "install.sh"), "#!/usr/bin/env bash\necho changed\n");
    expect(sha256Hex(deterministicZip(dir))).not.toBe(before);
  });
});
