// Placeholder build step: the package's artifacts are written to dist/.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
mkdirSync(join(root, "dist"), { recursive: true });
writeFileSync(join(root, "dist", "BUILD"), "built\n");
