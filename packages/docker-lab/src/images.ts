/**
 * Stand-in images, built locally (no registry is reachable here) and cached by content hash.
 *
 * The base is a root filesystem made from binaries already on the machine: Node.js, a POSIX shell and the shared
 * libraries they load, imported once per engine with `docker import` from a tarball cached on disk under the hash
 * of its contents. Each stand-in is `docker build` on top of it with one bundled contract fake from
 * @openhands-team/openhands-fakes. References point at a registry that cannot answer (`localhost:1`), so an
 * accidental pull fails at once instead of hanging.
 *
 * What these stand for cannot run here: the real OpenHands, agent-server and LiteLLM images are not reachable.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  realpathSync,
  renameSync,
  rmSync,
  rmdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { docker, labEngine, labUnavailableReason } from "./engine";

const REGISTRY = "localhost:1/openhands-standin";
const CONTENT_LABEL = "org.openhands-team.content-sha256";
/** Bumped when the recipe changes in a way the inputs' hashes do not show. */
const RECIPE_VERSION = "1";

/** Stand-in image references. The agent-server stand-ins carry exactly one tag, as OpenHands requires. */
export const STAND_IN = {
  node: `${REGISTRY}/node:20`,
  app: {
    "1.7.0": `${REGISTRY}/openhands:1.7.0`,
    "1.11.0": `${REGISTRY}/openhands:1.11.0`,
  },
  agentServer: {
    "1.19.1-python": `${REGISTRY}/agent-server:1.19.1-python`,
    "1.34.0-python": `${REGISTRY}/agent-server:1.34.0-python`,
  },
  llmGateway: `${REGISTRY}/litellm:stand-in`,
  /** The proxy's OpenResty: Debian's nginx with the Lua module, behind an `openresty` command. */
  openresty: `${REGISTRY}/openresty:nginx-lua`,
} as const;

interface DerivedImage {
  /** Bundle file name in @openhands-team/openhands-fakes/dist. */
  readonly bundle: string;
  readonly env: Readonly<Record<string, string>>;
  readonly ports: readonly number[];
  readonly workdir?: string;
  /** Default arguments. The bundle is the entry point, as the real images' servers are: the agent-server gets
   * `--port 8000` from OpenHands and LiteLLM its `--config ... --port 4000` from the compose file as the command. */
  readonly args?: readonly string[];
}

const DERIVED: Readonly<Record<string, DerivedImage>> = {
  [STAND_IN.app["1.7.0"]]: { bundle: "openhands-app.js", env: { OPENHANDS_VERSION: "1.7.0" }, ports: [3000] },
  [STAND_IN.app["1.11.0"]]: { bundle: "openhands-app.js", env: { OPENHANDS_VERSION: "1.11.0" }, ports: [3000] },
  [STAND_IN.agentServer["1.19.1-python"]]: {
    bundle: "agent-server.js",
    env: { AGENT_SERVER_VERSION: "1.19.1" },
    ports: [8000, 8001, 8011, 8012],
    workdir: "/workspace",
    args: ["--port", "8000"],
  },
  [STAND_IN.agentServer["1.34.0-python"]]: {
    bundle: "agent-server.js",
    env: { AGENT_SERVER_VERSION: "1.34.0" },
    ports: [8000, 8001, 8011, 8012],
    workdir: "/workspace",
    args: ["--port", "8000"],
  },
  [STAND_IN.llmGateway]: { bundle: "llm-gateway.js", env: {}, ports: [4000] },
};

const BASE_BINARIES = ["/usr/bin/node", "/usr/bin/dash"];

/** Debian packages whose files make the OpenResty stand-in (with the libraries their binaries load). */
const OPENRESTY_PACKAGES = ["nginx", "libnginx-mod-http-ndk", "libnginx-mod-http-lua", "lua-resty-core", "lua-resty-lrucache", "lua-cjson"];

/**
 * `openresty` as the OpenResty image has it: nginx with the Lua module built in. Debian's nginx loads it as a
 * dynamic module, so the wrapper puts the two load_module lines in front of whatever `-g` the caller gives
 * (nginx keeps only the last `-g`).
 */
const OPENRESTY_WRAPPER = `#!/bin/sh
modules="load_module /usr/lib/nginx/modules/ndk_http_module.so; load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;"
globals=""
n=$#
while [ "$n" -gt 0 ]; do
  arg=$1; shift; n=$((n - 1))
  if [ "$arg" = "-g" ] && [ "$n" -gt 0 ]; then globals=$1; shift; n=$((n - 1)); continue; fi
  set -- "$@" "$arg"
done
exec /usr/sbin/nginx -g "$modules $globals" "$@"
`;

function repoRoot(): string {
  return join(__dirname, "..", "..", "..");
}

function cacheDir(): string {
  const dir = process.env.OH_DOCKER_LAB_CACHE ?? join(repoRoot(), "node_modules", ".cache", "docker-lab");
  mkdirSync(dir, { recursive: true });
  return dir;
}

function sha256File(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/** Shared libraries a binary loads, resolved to real files (from ldd). */
function sharedLibraries(binary: string): string[] {
  const out = execFileSync("ldd", [binary], { encoding: "utf8" });
  const libs: string[] = [];
  for (const line of out.split("\n")) {
    const match = /(\/\S+)\s+\(0x/.exec(line);
    if (match?.[1]) libs.push(match[1]);
  }
  return libs;
}

interface BaseFile {
  /** Path inside the image. */
  readonly target: string;
  /** File on this machine. */
  readonly source: string;
}

function isElf(path: string): boolean {
  try {
    const header = Buffer.alloc(4);
    const fd = openSync(path, "r");
    try {
      readSync(fd, header, 0, 4, 0);
    } finally {
      closeSync(fd);
    }
    return header.toString("latin1") === "\x7fELF";
  } catch {
    return false;
  }
}

/** Regular files a Debian package installed, without its documentation. */
function packageFiles(pkg: string): string[] {
  const listed = execFileSync("dpkg-query", ["-L", pkg], { encoding: "utf8" }).split("\n");
  return listed.filter(
    (path) =>
      path && !path.startsWith("/usr/share/doc/") && !path.startsWith("/usr/share/man/") && existsSync(path) && statSync(path).isFile(),
  );
}

/** The given files and binaries, plus every shared library the ELF ones load. */
function rootfsFiles(paths: readonly string[]): BaseFile[] {
  const files = new Map<string, BaseFile>();
  for (const path of paths) {
    files.set(path, { target: path, source: realpathSync(path) });
    if (!isElf(realpathSync(path))) continue;
    for (const lib of sharedLibraries(path)) files.set(lib, { target: lib, source: realpathSync(lib) });
  }
  return [...files.values()].sort((a, b) => a.target.localeCompare(b.target));
}

function baseFiles(): BaseFile[] {
  return rootfsFiles(BASE_BINARIES);
}

function openrestyFiles(): BaseFile[] {
  const missing = OPENRESTY_PACKAGES.filter((pkg) => spawnSync("dpkg-query", ["-W", pkg]).status !== 0);
  if (missing.length)
    throw new Error(`docker-lab: the OpenResty stand-in needs Debian packages ${missing.join(", ")} (scripts/install-test-deps.sh)`);
  return rootfsFiles([...BASE_BINARIES, ...OPENRESTY_PACKAGES.flatMap(packageFiles)]);
}

const ETC_FILES: Readonly<Record<string, string>> = {
  // uid 10001 is the sandbox user of the agent-server image (owner of /workspace).
  "etc/passwd":
    "root:x:0:0:root:/root:/bin/sh\nopenhands:x:10001:10001:openhands:/home/openhands:/bin/sh\nnobody:x:65534:65534:nobody:/" +
    "nonexistent:/bin/sh\n",
  "etc/group": "root:x:0:\nopenhands:x:10001:\nnogroup:x:65534:\n",
  "etc/nsswitch.conf": "passwd: files\ngroup: files\nhosts: files dns\n",
};

/** Content hash of a root filesystem: every file's bytes, the extra text files and the recipe. */
function rootfsHash(files: readonly BaseFile[], extra: Readonly<Record<string, string>>): string {
  const hash = createHash("sha256").update(`recipe ${RECIPE_VERSION}\n`);
  for (const file of files) hash.update(`${file.target} ${sha256File(file.source)}\n`);
  for (const [path, text] of Object.entries({ ...ETC_FILES, ...extra })) hash.update(`${path} ${text}\n`);
  return hash.digest("hex");
}

/** A root filesystem as a tarball in the cache, built once per content hash. */
function rootfsTarball(name: string, files: readonly BaseFile[], extra: Readonly<Record<string, string>>, hash: string): string {
  const tarball = join(cacheDir(), `${name}-${hash.slice(0, 32)}.tar`);
  if (existsSync(tarball)) return tarball;
  const stage = mkdtempSync(join(tmpdir(), "docker-lab-base-"));
  try {
    for (const file of files) {
      const target = join(stage, file.target);
      mkdirSync(dirname(target), { recursive: true });
      copyFileSync(file.source, target);
    }
    for (const [path, text] of Object.entries({ ...ETC_FILES, ...extra })) {
      mkdirSync(dirname(join(stage, path)), { recursive: true });
      writeFileSync(join(stage, path), text, { mode: path.includes("/bin/") ? 0o755 : 0o644 });
    }
    for (const dir of [
      "tmp",
      "root",
      "home/openhands",
      "workspace",
      "usr/local/bin",
      "var/log/nginx",
      "var/lib/nginx",
      "usr/local/openresty/nginx",
    ]) {
      mkdirSync(join(stage, dir), { recursive: true });
    }
    execFileSync("chmod", ["1777", join(stage, "tmp")]);
    execFileSync("chown", ["10001:10001", join(stage, "home/openhands"), join(stage, "workspace")]);
    mkdirSync(join(stage, "bin"), { recursive: true });
    symlinkSync("/usr/bin/dash", join(stage, "bin", "sh"));
    const partial = `${tarball}.${process.pid}.partial`;
    execFileSync("tar", ["--numeric-owner", "-C", stage, "-cf", partial, "."]);
    renameSync(partial, tarball);
    return tarball;
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

function imageLabel(reference: string): string | undefined {
  const result = docker(["image", "inspect", "--format", `{{index .Config.Labels "${CONTENT_LABEL}"}}`, reference], { allowFailure: true });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

function importRootfs(
  reference: string,
  name: string,
  files: readonly BaseFile[],
  extra: Readonly<Record<string, string>>,
  cmd: string,
): string {
  const hash = rootfsHash(files, extra);
  if (imageLabel(reference) === hash) return hash;
  const tarball = rootfsTarball(name, files, extra, hash);
  docker([
    "import",
    "--change",
    `LABEL ${CONTENT_LABEL}=${hash}`,
    "--change",
    "ENV PATH=/usr/local/bin:/usr/sbin:/usr/bin:/bin",
    "--change",
    `CMD ${cmd}`,
    tarball,
    reference,
  ]);
  return hash;
}

function ensureBase(): string {
  return importRootfs(STAND_IN.node, "base", baseFiles(), {}, '["node"]');
}

function ensureOpenresty(): void {
  importRootfs(
    STAND_IN.openresty,
    "openresty",
    openrestyFiles(),
    { "usr/local/bin/openresty": OPENRESTY_WRAPPER },
    '["openresty", "-g", "daemon off;"]',
  );
}

function fakesBundle(name: string): string {
  const pkg = require.resolve("@openhands-team/openhands-fakes/package.json");
  const bundle = join(dirname(pkg), "dist", name);
  if (!existsSync(bundle)) {
    throw new Error(`docker-lab: ${bundle} is missing: build @openhands-team/openhands-fakes first (pnpm build)`);
  }
  return bundle;
}

function ensureDerived(reference: string, recipe: DerivedImage, baseContent: string): void {
  const bundle = fakesBundle(recipe.bundle);
  const hash = createHash("sha256")
    .update(JSON.stringify({ RECIPE_VERSION, baseContent, recipe }))
    .update(readFileSync(bundle))
    .digest("hex");
  if (imageLabel(reference) === hash) return;
  const context = mkdtempSync(join(tmpdir(), "docker-lab-image-"));
  try {
    copyFileSync(bundle, join(context, recipe.bundle));
    const lines = [
      `FROM ${STAND_IN.node}`,
      `COPY ${recipe.bundle} /opt/openhands-fakes/${recipe.bundle}`,
      ...Object.entries(recipe.env).map(([key, value]) => `ENV ${key}=${value}`),
      `EXPOSE ${recipe.ports.join(" ")}`,
      ...(recipe.workdir ? [`WORKDIR ${recipe.workdir}`] : []),
      `LABEL ${CONTENT_LABEL}=${hash}`,
      `ENTRYPOINT ["node", "/opt/openhands-fakes/${recipe.bundle}"]`,
      `CMD ${JSON.stringify(recipe.args ?? [])}`,
    ];
    writeFileSync(join(context, "Dockerfile"), `${lines.join("\n")}\n`);
    // The classic builder needs no registry when FROM is a local image.
    docker(["build", "--quiet", "--tag", reference, context], { allowFailure: false });
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}

/** Serialises image builds between the test processes of one lab (jest runs files in parallel workers). */
async function withLabLock<T>(fn: () => T): Promise<T> {
  const dir = process.env.OH_DOCKER_LAB_DIR ?? tmpdir();
  const lock = join(dir, "images.lock");
  const deadline = Date.now() + 300_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`docker-lab: ${lock} held for 5 minutes`);
      // A lock older than 5 minutes was left by a killed process.
      try {
        if (Date.now() - statSync(lock).mtimeMs > 300_000) rmdirSync(lock);
      } catch {
        // gone meanwhile
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  try {
    return fn();
  } finally {
    rmdirSync(lock);
  }
}

const KNOWN = new Set<string>([STAND_IN.node, STAND_IN.openresty, ...Object.keys(DERIVED)]);

/**
 * Makes sure `reference` (one of STAND_IN's) exists in the lab engine and returns it. The first call per engine
 * imports the base (about 1-2 s) and builds the stand-in (about 1 s); later calls only compare a label.
 */
export async function ensureImage(reference: string): Promise<string> {
  if (!KNOWN.has(reference)) throw new Error(`docker-lab: ${reference} is not a stand-in image (see STAND_IN)`);
  if (!labEngine()) throw new Error(`docker-lab: no engine: ${labUnavailableReason()}`);
  return withLabLock(() => {
    if (reference === STAND_IN.openresty) {
      ensureOpenresty();
      return reference;
    }
    const baseContent = ensureBase();
    const recipe = DERIVED[reference];
    if (recipe) ensureDerived(reference, recipe, baseContent);
    return reference;
  });
}
