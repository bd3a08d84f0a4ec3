/**
 * A throwaway PostgreSQL (Debian's package) on 127.0.0.1 with a free port, standing in for Aurora: the spawner
 * creates each user's database and role in it. initdb refuses to run as root, so under root (CI) the server
 * runs as the `postgres` system user.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, startProcess, type StartedProcess } from "./processes";

export interface TestDatabase {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly process: StartedProcess;
  /** Stops the server by its PID and removes its folder. */
  stop(): Promise<void>;
}

function pgBin(): string {
  const dir = process.env.PG_BIN_DIR ?? "/usr/lib/postgresql/15/bin";
  if (!existsSync(join(dir, "initdb"))) {
    throw new Error(`PostgreSQL binaries not found in ${dir}: install the Debian package postgresql (scripts/install-test-deps.sh) or set PG_BIN_DIR`);
  }
  return dir;
}

function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
  const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
  return { uid, gid };
}

export async function startPostgres(logDir: string): Promise<TestDatabase> {
  const bin = pgBin();
  const owner = postgresUser();
  const root = mkdtempSync(join(tmpdir(), "e2e-pg-"));
  const data = join(root, "data");
  const password = "e2e-master-password";
  const passwordFile = join(root, "pw");
  writeFileSync(passwordFile, `${password}\n`);
  if (owner) {
    chownSync(root, owner.uid, owner.gid);
    chownSync(passwordFile, owner.uid, owner.gid);
  }
  chmodSync(root, 0o700);
  const asOwner = owner ? { uid: owner.uid, gid: owner.gid } : {};
  execFileSync(join(bin, "initdb"), ["-D", data, "-U", "postgres", "--auth=scram-sha-256", `--pwfile=${passwordFile}`, "-E", "UTF8", "--no-sync"], {
    ...asOwner,
    stdio: "ignore",
  });
  const port = await freePort();
  const started = await startProcess({
    name: "postgres",
    command: join(bin, "postgres"),
    args: ["-D", data, "-p", String(port), "-c", "listen_addresses=127.0.0.1", "-c", `unix_socket_directories=${root}`, "-c", "fsync=off"],
    logDir,
    ready: /ready to accept connections/,
    timeoutMs: 30_000,
    env: { ...process.env, LC_ALL: "C" },
    ...(owner ? { uid: owner.uid, gid: owner.gid } : {}),
  });
  return {
    host: "127.0.0.1",
    port,
    user: "postgres",
    password,
    process: started,
    async stop() {
      await started.stop("SIGINT");
      rmSync(root, { recursive: true, force: true });
    },
  };
}
