import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { UsageError } from "./errors";

/** Region of the auth stack (apps/infra's EDGE_REGION): the user pool lives beside the edge. */
export const AUTH_STACK_REGION = "us-east-1";
/** The auth stack's output that holds the pool id (apps/infra/src/stacks/auth-stack.ts). */
export const USER_POOL_OUTPUT = "user_pool_id";

/** The ops package folder, whether running from src/ (tsx, tests) or a build. */
const PACKAGE_ROOT = (() => {
  let dir = __dirname;
  while (!existsSync(join(dir, "package.json")) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
})();
/** Where `pnpm synth` writes the auth stack; `terraform output -json` there names the deployed pool. */
export const DEFAULT_AUTH_STACK_DIR = resolve(PACKAGE_ROOT, "../infra/cdktf.out/stacks/auth");

export interface UserPoolTarget {
  readonly userPoolId: string;
  readonly region: string;
  /** Where the id came from, for messages. */
  readonly source: string;
}

export interface PoolOptions {
  readonly userPoolId?: string;
  readonly outputs?: string;
  readonly stackDir?: string;
  readonly region?: string;
}

// AWS's pattern for user pool ids: `<region>_<id>`; the region part is what Cognito itself puts there.
const POOL_ID = /^[\w-]+_[0-9a-zA-Z]+$/;
const REGION_IN_POOL_ID = /^([a-z]{2}(?:-[a-z]+)+-\d+)_/;
const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d+$/;

/**
 * Finds the pool to work on: `--user-pool-id`, else the `user_pool_id` output in an `--outputs` JSON file, else
 * `terraform output -json` in the auth stack's folder. The region comes from `--region`, else from the pool id
 * (Cognito ids start with their region), else us-east-1 where the auth stack puts the pool.
 */
export async function resolveUserPool(options: PoolOptions, baseDir: string): Promise<UserPoolTarget> {
  let userPoolId: string;
  let source: string;
  if (options.userPoolId !== undefined) {
    userPoolId = options.userPoolId;
    source = "--user-pool-id";
  } else if (options.outputs !== undefined) {
    const file = resolve(baseDir, options.outputs);
    userPoolId = poolIdFromOutputs(readOutputsFile(file), file);
    source = file;
  } else {
    const dir = options.stackDir === undefined ? DEFAULT_AUTH_STACK_DIR : resolve(baseDir, options.stackDir);
    userPoolId = poolIdFromOutputs(await terraformOutputs(dir), `terraform output -json in ${dir}`);
    source = `terraform output in ${dir}`;
  }
  if (userPoolId.length > 55 || !POOL_ID.test(userPoolId)) {
    throw new UsageError(
      `${JSON.stringify(userPoolId)} (from ${source}) is not a Cognito user pool id (expected <region>_<letters and digits>, like ` +
        `us-east-1_AbC123xyz)`,
    );
  }
  const fromId = REGION_IN_POOL_ID.exec(userPoolId)?.[1];
  if (options.region !== undefined) {
    if (!REGION.test(options.region))
      throw new UsageError(`--region ${JSON.stringify(options.region)} is not an AWS region (like us-east-1)`);
    if (fromId !== undefined && fromId !== options.region) {
      throw new UsageError(`user pool ${userPoolId} is in ${fromId}, not in --region ${options.region} (leave --region out)`);
    }
  }
  return { userPoolId, region: options.region ?? fromId ?? AUTH_STACK_REGION, source };
}

function readOutputsFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new UsageError(`--outputs ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(
      `--outputs ${file}: not JSON (${(error as Error).message}); expected the output of \`terraform output -json\` in the auth stack`,
    );
  }
}

/**
 * The pool id in any of the shapes operators have at hand: `terraform output -json` (`{user_pool_id: {value}}`),
 * cdktf's `--outputs-file` (`{auth: {user_pool_id}}`) or a flat `{user_pool_id: "..."}`.
 */
export function poolIdFromOutputs(outputs: unknown, where: string): string {
  const record = (value: unknown): Record<string, unknown> | undefined =>
    value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  const root = record(outputs);
  const candidates = [root?.[USER_POOL_OUTPUT], record(root?.auth)?.[USER_POOL_OUTPUT]];
  for (const candidate of candidates) {
    const value = typeof candidate === "string" ? candidate : record(candidate)?.value;
    if (typeof value === "string" && value !== "") return value;
  }
  throw new UsageError(
    `no ${USER_POOL_OUTPUT} output in ${where}: deploy the auth stack first, or pass --user-pool-id (the pool's id in the Cognito console)`,
  );
}

function terraformOutputs(dir: string): Promise<unknown> {
  if (!existsSync(dir)) {
    return Promise.reject(
      new UsageError(
        `no auth stack in ${dir}: pass --user-pool-id <id>, --outputs <file>, or run \`pnpm synth\` and deploy the auth stack first`,
      ),
    );
  }
  return new Promise((resolvePromise, reject) => {
    execFile("terraform", ["output", "-json"], { cwd: dir, timeout: 120_000, maxBuffer: 4 << 20 }, (error, stdout, stderr) => {
      if (error) {
        const code = (error as NodeJS.ErrnoException).code;
        const why = code === "ENOENT" ? "terraform is not installed" : firstLine(stderr) || error.message;
        reject(new UsageError(`terraform output -json in ${dir} failed (${why}): pass --user-pool-id <id> or --outputs <file> instead`));
        return;
      }
      try {
        resolvePromise(JSON.parse(stdout));
      } catch {
        reject(new UsageError(`terraform output -json in ${dir} did not print JSON: pass --user-pool-id <id> instead`));
      }
    });
  });
}

function firstLine(text: string): string {
  return (
    text
      // biome-ignore lint/suspicious/noControlCharactersInRegex: strips terminal colour codes (ESC [ … m) from names shown in a table.
      .replace(/\x1b\[[0-9;]*m/g, "")
      .split("\n")
      .map((line) => line.replace(/^[│╷╵\s]+/, "").trim())
      .find((line) => line !== "" && !/^(Warning|Error):?$/.test(line)) ?? ""
  );
}
