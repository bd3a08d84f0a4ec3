// Builds the host bundle, dist/host-bundle: this package's files/host-bundle (installer, steps, firewall,
// compose project, systemd units) plus the artifacts of the two packages that run on the host, taken from
// their dist folders (turbo builds them first: they are workspace dependencies of this package).
// Nothing time-dependent goes in, so an unchanged bundle zips to the same bytes and the same SHA-256.
import { createHash } from "node:crypto";
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bundle = join(root, "dist", "host-bundle");
const siblings = join(root, "node_modules", "@openhands-team");

/** Where each sibling's artifacts land in the bundle, and the file the installer cannot do without. */
const ARTIFACTS = [
  { from: join(siblings, "runtime-proxy", "dist"), to: "runtime-proxy", required: "render.js" },
  { from: join(siblings, "spawner", "dist", "spawner.js"), to: "spawner/spawner.js", required: null },
];

function files(dir) {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? files(path) : [path];
    });
}

rmSync(bundle, { recursive: true, force: true });
mkdirSync(bundle, { recursive: true });
cpSync(join(root, "files", "host-bundle"), bundle, { recursive: true });

const warnings = [];
for (const artifact of ARTIFACTS) {
  if (!existsSync(artifact.from)) {
    warnings.push(`${relative(root, artifact.from)} is missing: the bundle has no ${artifact.to} (the installer will refuse to run)`);
    continue;
  }
  const target = join(bundle, artifact.to);
  mkdirSync(dirname(target), { recursive: true });
  cpSync(artifact.from, target, { recursive: true, dereference: true });
  if (artifact.required && !existsSync(join(target, artifact.required))) {
    warnings.push(`${relative(root, artifact.from)} has no ${artifact.required}`);
  }
}

// Modes are part of the bundle's identity (the zip keeps 0755/0644): normalise them.
for (const path of files(bundle)) chmodSync(path, statSync(path).mode & 0o111 ? 0o755 : 0o644);

const digest = createHash("sha256");
for (const path of files(bundle)) digest.update(`${relative(bundle, path)}\0${readFileSync(path).toString("base64")}\0`);
writeFileSync(join(bundle, "BUNDLE_ID"), `${digest.digest("hex").slice(0, 16)}\n`);

for (const warning of warnings) console.warn(`host bundle: WARNING ${warning}`);
console.log(`host bundle: ${files(bundle).length} files in ${relative(process.cwd(), bundle) || bundle}`);
