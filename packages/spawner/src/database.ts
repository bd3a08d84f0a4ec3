/**
 * One PostgreSQL database and role per user, created on first start.
 *
 * The role `oh_<slug>` owns the database `oh_<slug>` (OpenHands runs its alembic migrations at startup as
 * that role), and CONNECT is revoked from PUBLIC so that no other user's role can open it. The password is
 * never stored: base64url(HMAC-SHA256(db-password-key, "db:" + slug)) (docs/CONTRACTS.md "Secrets").
 */
import { createHmac } from "node:crypto";
import { Pool, type PoolClient } from "pg";
import type { Logger } from "./log";
import { isUserSlug } from "./slug";

export interface UserDatabase {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
}

export interface AdminConnection {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** Address the apps use to reach the database, when it differs from the spawner's. */
  appHost?: string;
  /**
   * Reads the admin password again (RDS rotates its managed master password every 7 days and the host
   * rewrites the secret file): called once when PostgreSQL refuses the password (SQLSTATE 28P01).
   */
  rereadPassword?: () => string;
  /** Bound on connecting and on each statement (a hung or failing-over server must not hold a start forever). */
  timeoutMs?: number;
  /** TLS of the admin connection (`adminTls()` of the configuration); absent: no TLS. */
  ssl?: { rejectUnauthorized: boolean; ca?: string };
}

/** The database TLS settings of the spawner's configuration (`database.tls`). */
export interface DatabaseTls {
  mode: "verify-full" | "require" | "disable";
  /** PEM of the CA bundle that signs the server's certificate (the RDS CA bundle in production). */
  ca?: string;
}

/**
 * pg's `ssl` option for a TLS mode:
 * - verify-full: the server's certificate must chain to `ca` and name the host (stops an impostor database
 *   reading the admin password and every user's database password);
 * - require: encrypted, certificate not checked (against passive capture on the path; used until the host has
 *   the RDS CA bundle, see docs/operations.md);
 * - disable: no TLS (a local server without TLS only).
 */
export function adminTls(tls: DatabaseTls): AdminConnection["ssl"] {
  if (tls.mode === "disable") return undefined;
  if (tls.mode === "require") return { rejectUnauthorized: false };
  return { rejectUnauthorized: true, ...(tls.ca ? { ca: tls.ca } : {}) };
}

/** A user's database could not be prepared; the message says why, without credentials. */
export class DatabaseError extends Error {
  override name = "DatabaseError";
}

/** SQLSTATE 28P01 invalid_password (and 28000 invalid_authorization_specification, which some poolers send). */
function isAuthFailure(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return code === "28P01" || code === "28000";
}

export function userDatabasePassword(key: string, slug: string): string {
  return createHmac("sha256", Buffer.from(key, "utf8")).update(`db:${slug}`, "utf8").digest("base64url");
}

export class UserDatabases {
  private readonly pool: Pool;
  private readonly inflight = new Map<string, Promise<UserDatabase>>();
  private password: string;
  private readonly timeoutMs: number;

  constructor(
    private readonly admin: AdminConnection,
    private readonly passwordKey: string,
    private readonly log: Logger,
  ) {
    this.password = admin.password;
    this.timeoutMs = admin.timeoutMs ?? 10_000;
    this.pool = new Pool({
      host: admin.host,
      port: admin.port,
      user: admin.user,
      // Read at every new connection, so a password read again after a rotation applies at once.
      password: () => this.password,
      database: admin.database,
      max: 4,
      // Hung server (stopped process, failover): connecting, each statement and each round trip are bounded.
      connectionTimeoutMillis: this.timeoutMs,
      query_timeout: this.timeoutMs,
      statement_timeout: this.timeoutMs,
      lock_timeout: this.timeoutMs,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      ...(admin.ssl ? { ssl: admin.ssl } : {}),
    });
    // Crash on a dropped connection: an idle client's 'error' (server restart, failover) reaches the pool's handler ...
    this.pool.on("error", (error) => this.log.warn("database connection lost (idle)", { error: error.message }));
    // ... and a checked-out client's 'error' (server killed mid-setup) reaches this one instead of an unhandled 'error' event.
    this.pool.on("connect", (client) => client.on("error", (error) => this.log.warn("database connection lost", { error: error.message })));
  }

  /** Names for a slug; the slug alphabet ([a-z2-7]) is a safe identifier on its own. */
  static namesFor(slug: string): { database: string; role: string } {
    if (!isUserSlug(slug)) throw new Error(`not a user slug: ${JSON.stringify(slug)}`);
    return { database: `oh_${slug}`, role: `oh_${slug}` };
  }

  /** The connection settings of a user's database, without touching PostgreSQL. */
  describe(slug: string): UserDatabase {
    const { database, role } = UserDatabases.namesFor(slug);
    return {
      host: this.admin.appHost ?? this.admin.host,
      port: this.admin.port,
      database,
      user: role,
      password: userDatabasePassword(this.passwordKey, slug),
    };
  }

  /** Creates the role and database when absent; idempotent, and safe when called concurrently from several processes. */
  ensure(slug: string): Promise<UserDatabase> {
    const running = this.inflight.get(slug);
    if (running) return running;
    const work = this.provision(slug).finally(() => this.inflight.delete(slug));
    this.inflight.set(slug, work);
    return work;
  }

  /** A pooled connection; on a refused password the admin password is read again and the connect tried once more. */
  private async connect(): Promise<PoolClient> {
    try {
      return await this.pool.connect();
    } catch (error) {
      if (!isAuthFailure(error) || !this.admin.rereadPassword) throw error;
      let fresh: string;
      try {
        fresh = this.admin.rereadPassword();
      } catch (readError) {
        throw new DatabaseError(`PostgreSQL refused the admin password and it could not be read again: ${(readError as Error).message}`);
      }
      this.log.warn("database refused the admin password; read it again and retrying once", { changed: fresh !== this.password });
      this.password = fresh;
      return await this.pool.connect();
    }
  }

  private async provision(slug: string): Promise<UserDatabase> {
    try {
      return await this.provisionOnce(slug);
    } catch (error) {
      if (error instanceof DatabaseError) throw error;
      const code = (error as { code?: unknown }).code;
      throw new DatabaseError(
        `the database of ${slug} could not be prepared: ${(error as Error).message}${typeof code === "string" ? ` (${code})` : ""}`,
      );
    }
  }

  private async provisionOnce(slug: string): Promise<UserDatabase> {
    const { database, role } = UserDatabases.namesFor(slug);
    const password = userDatabasePassword(this.passwordKey, slug);
    const client: PoolClient = await this.connect();
    let broken: Error | undefined;
    try {
      // Another spawner (a replacement host overlapping the old one) may provision the same user at the same moment.
      await client.query("SELECT pg_advisory_lock(hashtext($1))", [`oh-spawner:${slug}`]);
      try {
        const roleExists = (await client.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [role])).rowCount === 1;
        const quotedRole = client.escapeIdentifier(role);
        const literal = client.escapeLiteral(password);
        if (!roleExists) {
          await client.query(`CREATE ROLE ${quotedRole} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD ${literal}`);
          this.log.info("database role created", { slug, role });
        } else {
          // Keeps the role usable after a rotation of the password key.
          await client.query(`ALTER ROLE ${quotedRole} WITH LOGIN PASSWORD ${literal}`);
        }
        const dbExists = (await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [database])).rowCount === 1;
        if (!dbExists) {
          // Aurora's master user is not a superuser: it must be a member of the role to make it the owner.
          await client
            .query(`GRANT ${quotedRole} TO CURRENT_USER`)
            .catch((error: Error) => this.log.debug("grant of role to admin skipped", { slug, error: error.message }));
          await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)} OWNER ${quotedRole}`);
          this.log.info("database created", { slug, database });
        }
        // Cross-tenant read: PUBLIC holds CONNECT and TEMP on every new database by default.
        await client.query(`REVOKE ALL ON DATABASE ${client.escapeIdentifier(database)} FROM PUBLIC`);
      } finally {
        await client.query("SELECT pg_advisory_unlock(hashtext($1))", [`oh-spawner:${slug}`]).catch((error: Error) => {
          // A lost connection releases the lock with its session; the client must not go back to the pool.
          broken = error;
        });
      }
    } catch (error) {
      broken = error as Error;
      throw error;
    } finally {
      // A client that failed (timeout, lost connection) is destroyed, not reused with a half-done state.
      client.release(broken ?? false);
    }
    return this.describe(slug);
  }

  /**
   * One round trip (SELECT 1) on a pooled connection; the spawner's /healthz reports whether PostgreSQL answers.
   * The connection is closed afterwards, so the health check leaves no idle client of its own in the pool (the
   * next check logs in again, and a refused password shows).
   */
  async ping(): Promise<void> {
    const client = await this.connect();
    try {
      await client.query("SELECT 1");
    } finally {
      client.release(true);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
