/**
 * TLS of the spawner's admin connection against a real PostgreSQL 15 with ssl=on (a self-signed certificate made
 * by openssl at start, testing/postgres.ts) that refuses connections without TLS, as Aurora does with
 * rds.force_ssl=1.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import { parseConfig } from "../src/config";
import { adminTls, UserDatabases, type DatabaseTls } from "../src/database";
import { createLogger } from "../src/log";
import { startPostgres, type TestPostgres } from "../testing/postgres";
import { minimalConfigDocument } from "./helpers/minimal-config";

/** A configuration for a 1.11.0 pair with the given database section. */
const configDocument = (database: Record<string, unknown>) => ({
  ...minimalConfigDocument(),
  images: { app: "r/openhands:1.11.0", agentServer: "r/agent-server:1.34.0-python" },
  database,
});

jest.setTimeout(60_000);

describe("GIVEN a PostgreSQL server that refuses connections without TLS", () => {
  let pg: TestPostgres;
  let dir: string;
  const open: UserDatabases[] = [];
  const databasesWith = (tls: DatabaseTls) => {
    const ssl = adminTls(tls);
    const databases = new UserDatabases(
      {
        host: pg.host,
        port: pg.port,
        user: pg.user,
        password: pg.password,
        database: "postgres",
        timeoutMs: 5_000,
        ...(ssl ? { ssl } : {}),
      },
      "test-db-password-key",
      createLogger({ write: () => undefined }),
    );
    open.push(databases);
    return databases;
  };

  beforeAll(async () => {
    pg = await startPostgres({ tlsOnly: true });
    dir = mkdtempSync(join(tmpdir(), "spawner-tls-"));
  });
  afterAll(async () => {
    for (const databases of open) await databases.close();
    await pg?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("WHEN the spawner verifies the certificate against its CA file (verify-full) THEN it provisions a user over TLS", async () => {
    const caFile = join(dir, "ca.pem");
    writeFileSync(caFile, pg.caCert!);
    const config = parseConfig(
      configDocument({ host: pg.host, adminUser: pg.user, adminPassword: pg.password, tls: { mode: "verify-full", caFile } }),
    );
    expect(config.database.tls).toEqual({ mode: "verify-full", ca: pg.caCert });
    const db = await databasesWith(config.database.tls).ensure("aaaaaaaaaaaaaaaa");
    expect(db.database).toBe("oh_aaaaaaaaaaaaaaaa");
    // The server saw the user's role created over a TLS session: the role logs in over TLS too.
    const own = new Client({
      host: pg.host,
      port: pg.port,
      user: db.user,
      password: db.password,
      database: db.database,
      ssl: { ca: pg.caCert!, rejectUnauthorized: true },
    });
    await own.connect();
    const ssl = await own.query("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
    expect(ssl.rows[0].ssl).toBe(true);
    expect(ssl.rows[0].version).toMatch(/^TLSv1\.[23]$/);
    await own.end();
  });

  it("WHEN the spawner encrypts without a CA file (require, the default) THEN it works as well", async () => {
    const config = parseConfig(configDocument({ host: pg.host, adminUser: pg.user, adminPassword: pg.password }));
    expect(config.database.tls).toEqual({ mode: "require" });
    expect((await databasesWith(config.database.tls).ensure("bbbbbbbbbbbbbbbb")).database).toBe("oh_bbbbbbbbbbbbbbbb");
  });

  it("WHEN a connection comes without TLS THEN the server refuses it (so the TLS above was real, not optional)", async () => {
    await expect(databasesWith({ mode: "disable" }).ensure("cccccccccccccccc")).rejects.toThrow(/could not be prepared: .*no encryption/);
  });

  it(
    "WHEN the server's certificate is not signed by the configured CA (an " +
      "impostor database) THEN verify-full refuses to send the password",
    async () => {
      const otherKey = join(dir, "other.key");
      const otherCert = join(dir, "other.pem");
      execFileSync(
        "openssl",
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout", otherKey, "-out", otherCert],
        { stdio: "pipe" },
      );
      const { readFileSync } = await import("node:fs");
      await expect(databasesWith({ mode: "verify-full", ca: readFileSync(otherCert, "utf8") }).ensure("dddddddddddddddd")).rejects.toThrow(
        /could not be prepared: .*(self-signed certificate|unable to verify|certificate)/,
      );
    },
  );

  it("WHEN verify-full has no caFile, or caFile is not a certificate THEN the configuration is refused with the field named", () => {
    const base = configDocument({});
    expect(() =>
      parseConfig({ ...base, database: { host: "db", adminUser: "a", adminPassword: "p", tls: { mode: "verify-full" } } }),
    ).toThrow(/config\.database\.tls\.caFile: .*verify-full needs caFile/);
    const notPem = join(dir, "not.pem");
    writeFileSync(notPem, "hello");
    expect(() =>
      parseConfig({ ...base, database: { host: "db", adminUser: "a", adminPassword: "p", tls: { mode: "verify-full", caFile: notPem } } }),
    ).toThrow(/caFile: .* holds no PEM certificate/);
  });
});
