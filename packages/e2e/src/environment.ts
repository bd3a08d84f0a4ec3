/**
 * The only place this package reads its own environment variables: which binaries the stack runs, and the bench's
 * request count. (The contract fakes read their container's environment: that is their configuration.)
 */
export interface E2eEnvironment {
  /** Debian's nginx with the Lua module. NGINX_BIN, @default "/usr/sbin/nginx" */
  readonly nginxBin: string;
  /** Debian's chromium. CHROMIUM_PATH, @default "/usr/bin/chromium" */
  readonly chromiumPath: string;
  /** Requests per path in `pnpm bench`. BENCH_REQUESTS, @default 400 */
  readonly benchRequests: number;
  /** PATH and HOME, passed on to the container processes. */
  readonly path: string | undefined;
  readonly home: string | undefined;
}

export function readEnvironment(env: NodeJS.ProcessEnv = process.env): E2eEnvironment {
  const benchRequests = env.BENCH_REQUESTS === undefined ? 400 : Number(env.BENCH_REQUESTS);
  if (!Number.isInteger(benchRequests) || benchRequests < 1) {
    throw new Error(
      `BENCH_REQUESTS: ${JSON.stringify(env.BENCH_REQUESTS)} is not a whole number of requests (expected 1 or more, e.g. 400)`,
    );
  }
  return {
    nginxBin: env.NGINX_BIN || "/usr/sbin/nginx",
    chromiumPath: env.CHROMIUM_PATH || "/usr/bin/chromium",
    benchRequests,
    path: env.PATH,
    home: env.HOME,
  };
}
