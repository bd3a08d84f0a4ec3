/**
 * A throwaway PostgreSQL server (Debian's postgresql package) on 127.0.0.1 and a free port, in a
 * temporary folder, stopped by PID. initdb refuses to run as root, so as root the server runs as the
 * `postgres` system user (created by the Debian package) through runuser.
 *
 * TLS is on (as on Aurora): a self-signed certificate for 127.0.0.1/localhost is made with openssl at each start,
 * `pg.caCert` is its PEM (the CA a verifying client trusts). `tlsOnly` makes the server refuse connections without
 * TLS (pg_hba `hostnossl … reject`, what `rds.force_ssl=1` does); `tls: false` starts it without TLS.
 *
 * Usage: `const pg = await startPostgres(); pg.host, pg.port, pg.user, pg.password; await pg.stop()`.
 * PG_BIN_DIR overrides the binaries folder (default /usr/lib/postgresql/15/bin).
 */
import { execFileSync, spawn } from "node:child_process";
import { appendFileSync, chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestPostgres {
  host: string;
  port: number;
  user: string;
  password: string;
  dataDir: string;
  pid: number;
  /** PEM of the server's self-signed certificate (absent with `tls: false`). */
  caCert?: string;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (the kernel picks it; the listener is closed again at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function postgresIds(): { uid: number; gid: number } {
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((entry) => entry.startsWith("postgres:"));
  if (!line) throw new Error("running as root needs the 'postgres' system user (Debian package postgresql)");
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

export async function startPostgres(options: { binDir?: string; tls?: boolean; tlsOnly?: boolean } = {}): Promise<TestPostgres> {
  const binDir = options.binDir ?? process.env.PG_BIN_DIR ?? "/usr/lib/postgresql/15/bin";
  if (!existsSync(join(binDir, "initdb")))
    throw new Error(`PostgreSQL binaries not found in ${binDir} (install the postgresql package or set PG_BIN_DIR)`);
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), "spawner-pg-"));
  const user = "admin";
  const password = "admin-test-password";
  const pwfile = join(dir, "pw");
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  const run = (command: string, args: string[]) =>
    (asRoot ? ["runuser", ["-u", "postgres", "--", command, ...args]] : [command, args]) as [string, string[]];
  if (asRoot) {
    const { uid, gid } = postgresIds();
    chownSync(dir, uid, gid);
    chownSync(pwfile, uid, gid);
  }
  const dataDir = join(dir, "data");
  const [initCmd, initArgs] = run(join(binDir, "initdb"), [
    "-D",
    dataDir,
    "-U",
    user,
    "--pwfile",
    pwfile,
    "-A",
    "scram-sha-256",
    "-E",
    "UTF8",
    "--no-sync",
    "--no-instructions",
  ]);
  execFileSync(initCmd, initArgs, { stdio: "pipe" });
  let caCert: string | undefined;
  if (options.tls !== false) {
    const certFile = join(dataDir, "server.crt");
    const keyFile = join(dataDir, "server.key");
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=IP:127.0.0.1,DNS:localhost",
        "-keyout",
        keyFile,
        "-out",
        certFile,
      ],
      { stdio: "pipe" },
    );
    chmodSync(keyFile, 0o600);
    if (asRoot) {
      const { uid, gid } = postgresIds();
      chownSync(certFile, uid, gid);
      chownSync(keyFile, uid, gid);
    }
    caCert = readFileSync(certFile, "utf8");
    // In postgresql.conf, not on the command line: a restart of the same data folder keeps TLS.
    appendFileSync(join(dataDir, "postgresql.conf"), `\nssl = on\nssl_cert_file = '${certFile}'\nssl_key_file = '${keyFile}'\n`);
    if (options.tlsOnly) {
      const hba = join(dataDir, "pg_hba.conf");
      writeFileSync(
        hba,
        ["local all all scram-sha-256", "hostnossl all all 0.0.0.0/0 reject", "hostssl all all 127.0.0.1/32 scram-sha-256", ""].join("\n"),
      );
    }
  }
  const port = await freePort();
  const [pgCmd, pgArgs] = run(join(binDir, "postgres"), [
    "-D",
    dataDir,
    "-h",
    "127.0.0.1",
    "-p",
    String(port),
    "-k",
    dir,
    "-c",
    "fsync=off",
    "-c",
    "max_connections=60",
  ]);
  const child = spawn(pgCmd, pgArgs, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const pidFile = join(dataDir, "postmaster.pid");
  const deadline = Date.now() + 20_000;
  // Wait until the postmaster has written its pid file with "ready" and listens.
  for (;;) {
    if (existsSync(pidFile) && readFileSync(pidFile, "utf8").includes("ready")) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`PostgreSQL did not start: ${stderr.slice(-500)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const pid = Number(readFileSync(pidFile, "utf8").split("\n")[0]);
  return {
    host: "127.0.0.1",
    port,
    user,
    password,
    dataDir,
    pid,
    ...(caCert ? { caCert } : {}),
    stop: async () => {
      try {
        process.kill(pid, "SIGINT"); // fast shutdown of the postmaster we started
      } catch {
        // already gone
      }
      const until = Date.now() + 15_000;
      while (Date.now() < until) {
        try {
          process.kill(pid, 0);
        } catch {
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
