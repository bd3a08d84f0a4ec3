/**
 * Per-user databases against a real PostgreSQL 15 (Debian's package), started by this test on 127.0.0.1
 * and a free port in a temporary folder (as the `postgres` user when the test runs as root), stopped by PID.
 */
import { Client } from "pg";
import { createLogger } from "../src/log";
import { UserDatabases, userDatabasePassword } from "../src/database";
import { startPostgres, type TestPostgres } from "../testing/postgres";

jest.setTimeout(60_000);

describe("per-user databases (real PostgreSQL)", () => {
  let pg: TestPostgres;
  let databases: UserDatabases;
  const alice = "aaaaaaaaaaaaaaaa";
  const bob = "bbbbbbbbbbbbbbbb";

  beforeAll(async () => {
    pg = await startPostgres();
    databases = new UserDatabases(
      { host: pg.host, port: pg.port, user: pg.user, password: pg.password, database: "postgres" },
      "test-db-password-key",
      createLogger({ write: () => undefined }),
    );
  });
  afterAll(async () => {
    await databases?.close();
    await pg?.stop();
  });

  const connect = async (user: string, password: string, database: string) => {
    const client = new Client({ host: pg.host, port: pg.port, user, password, database, connectionTimeoutMillis: 5000 });
    await client.connect();
    return client;
  };

  it(
    "GIVEN a new user WHEN ensure runs THEN a login role and a database " + "it owns exist, and the role can run migrations in it",
    async () => {
      const db = await databases.ensure(alice);
      expect(db).toEqual({
        host: pg.host,
        port: pg.port,
        database: `oh_${alice}`,
        user: `oh_${alice}`,
        password: userDatabasePassword("test-db-password-key", alice),
      });
      const admin = await connect(pg.user, pg.password, "postgres");
      const owner = await admin.query("SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1", [db.database]);
      expect(owner.rows[0].owner).toBe(db.user);
      const role = await admin.query("SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = $1", [db.user]);
      expect(role.rows[0]).toEqual({ rolsuper: false, rolcreatedb: false, rolcreaterole: false });
      await admin.end();
      const own = await connect(db.user, db.password, db.database);
      await own.query("CREATE TABLE conversation_metadata (id text primary key)");
      await own.query("INSERT INTO conversation_metadata VALUES ('secret-of-alice')");
      await own.end();
    },
  );

  it("GIVEN an existing user WHEN ensure runs again (also 5 times in parallel) THEN nothing changes and the data stays", async () => {
    const again = await Promise.all(Array.from({ length: 5 }, () => databases.ensure(alice)));
    for (const db of again) expect(db.database).toBe(`oh_${alice}`);
    const own = await connect(`oh_${alice}`, again[0]!.password, `oh_${alice}`);
    expect((await own.query("SELECT id FROM conversation_metadata")).rows).toEqual([{ id: "secret-of-alice" }]);
    await own.end();
  });

  it("GIVEN two spawners (two pools) provisioning one new user at once THEN both succeed", async () => {
    const other = new UserDatabases(
      { host: pg.host, port: pg.port, user: pg.user, password: pg.password, database: "postgres" },
      "test-db-password-key",
      createLogger({ write: () => undefined }),
    );
    try {
      const slug = "cccccccccccccccc";
      const [a, b] = await Promise.all([databases.ensure(slug), other.ensure(slug)]);
      expect(a).toEqual(b);
    } finally {
      await other.close();
    }
  });

  it("GIVEN a second user WHEN they try to open or read the first user's database THEN PostgreSQL refuses", async () => {
    const bobDb = await databases.ensure(bob);
    await expect(connect(bobDb.user, bobDb.password, `oh_${alice}`)).rejects.toThrow(/permission denied for database/);
    const own = await connect(bobDb.user, bobDb.password, bobDb.database);
    await expect(own.query(`SELECT * FROM dblink('dbname=oh_${alice}', 'select 1') AS t(x int)`)).rejects.toThrow();
    await own.end();
    // and with a guessed password for alice's role
    await expect(connect(`oh_${alice}`, userDatabasePassword("wrong-key", alice), `oh_${alice}`)).rejects.toThrow(
      /password authentication failed/,
    );
  });

  it("GIVEN a malformed slug THEN nothing reaches SQL", async () => {
    await expect(databases.ensure(`x"; DROP DATABASE oh_${alice}; --`)).rejects.toThrow(/not a user slug/);
  });
});
