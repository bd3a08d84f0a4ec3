// Bundles each fake's server entry point into one file (dist/<name>.js) for the stand-in images.
import { mkdirSync } from "node:fs";
mkdirSync(new URL("../dist", import.meta.url), { recursive: true });
