#!/usr/bin/env node
// Fails when a tracked source line is wider than 140 characters: Biome wraps code but not long strings or comments.
// Usage: check-line-width.mjs [directory]  (default: the current directory; files come from `git ls-files`).
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

const MAX = 140;
const CHECKED = /\.(ts|tsx|mts|cts|js|mjs|cjs|sh|bash|py|conf|template)$/;
const dir = process.argv[2] ?? ".";
const files = execFileSync("git", ["ls-files", "-z", "--", dir], { encoding: "utf8" })
  .split("\0")
  .filter((file) => CHECKED.test(file));

let wide = 0;
for (const file of files) {
  let text;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    continue; // listed by git but deleted in the work tree
  }
  const lines = text.split("\n");
  for (const [index, line] of lines.entries()) {
    if (line.length <= MAX) continue;
    wide += 1;
    if (wide <= 50) console.log(`${file}:${index + 1}: ${line.length} characters (at most ${MAX})`);
  }
}
if (wide > 50) console.log(`… and ${wide - 50} more`);
if (wide > 0) {
  console.log(`line width: ${wide} line(s) over ${MAX} characters in ${dir}`);
  process.exit(1);
}
