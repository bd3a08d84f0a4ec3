// Builds the host bundle: dist/host-bundle holds everything the host installs.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bundle = join(root, "dist", "host-bundle");
mkdirSync(bundle, { recursive: true });
writeFileSync(join(bundle, "install.sh"), "#!/usr/bin/env bash\nset -euo pipefail\necho 'host bundle placeholder'\n", { mode: 0o755 });
