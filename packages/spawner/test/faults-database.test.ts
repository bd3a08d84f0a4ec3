/**
 * PostgreSQL faults against a real PostgreSQL 15 and the real Docker engine (docker-lab): the server killed by
 * PID while a new user's setup waits in it, the spawner's connection terminated mid-setup, and the admin
 * password rotated (RDS-managed master passwords rotate every 7 days; the host rewrites the secret file).
 * The spawner runs in this process: an unhandled 'error' event of a pooled client would end the test run.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { Client } from "pg";
import { describeWithEngine } from "@openhands-team/docker-lab";
import { startPostgres, type TestPostgres } from "../testing/postgres";
import { ensureLabImages } from "./helpers/lab-images";
import { eventually, http, keepLoopbackSources, killPostgres, restartPostgres, startFaultLab, user, type FaultLab } from "./faults/lab";

jest.setTimeout(180_000);

describeWithEngine("spawner with PostgreSQL faults (real PostgreSQL, real engine)", () => {
  let pg: TestPostgres;
  let postmaster: number;
  let password: string;
  let lab: FaultLab;
  const bob = user(501);

  const admin = async <T = any>(sql: string, params: unknown[] = []): Promise<T[]> => {
    const client = new Client({
      host: pg.host,
      port: pg.port,
      user: pg.user,
      password,
      database: "postgres",
      connectionTimeoutMillis: 5_000,
    });
    client.on("error", () => undefined);
    await client.connect();
    try {
      return (await client.query(sql, params)).rows as T[];
    } finally {
      await client.end().catch(() => undefined);
    }
  };
  /** Holds the setup lock of a user (the spawner's own advisory lock), so that user's setup waits inside PostgreSQL. */
  const holdSetupLock = async (slug: string): Promise<Client> => {
    const client = new Client({ host: pg.host, port: pg.port, user: pg.user, password, database: "postgres" });
    client.on("error", () => undefined);
    await client.connect();
    await client.query("SELECT pg_advisory_lock(hashtext($1))", [`oh-spawner:${slug}`]);
    return client;
  };
  const spawnerWaitingOnLock = () =>
    eventually(async () => {
      const rows = await admin<{ pid: number }>(
        "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'SELECT pg_advisory_lock%'",
      );
      return rows[0]?.pid;
    });
  /** What must keep working whatever happens to one user's setup: the control API, and another user's app and relay. */
  const othersStillServed = async () => {
    // The control API answers (its health report may name the failing dependency: 503 is an answer too).
    expect((await http({ url: `${lab.service.apiUrl}/healthz` })).json()).toEqual(
      expect.objectContaining({ status: expect.stringMatching(/^(ok|degraded)$/) }),
    );
    expect((await lab.ensure(bob)).json()).toEqual({ state: "running", upstream: "http://10.242.1.2:3000" });
    // From an address on bob's /24 (the relay serves only its own network): forwarded to bob's app.
    keepLoopbackSources();
    const forwarded = lab.service.relay.forwarded;
    const relayed = await http({ url: "http://10.242.1.1:3000/api/v1/webhooks/secrets", method: "GET", localAddress: "10.242.1.1" });
    expect(`${relayed.status} ${relayed.body}`).not.toMatch(/^(403|5\d\d) /);
    expect(lab.service.relay.forwarded).toBe(forwarded + 1);
  };
  const roleExists = async (slug: string) => (await admin("SELECT 1 FROM pg_roles WHERE rolname = $1", [`oh_${slug}`])).length === 1;

  beforeAll(async () => {
    const images = await ensureLabImages();
    pg = await startPostgres();
    postmaster = pg.pid;
    password = pg.password;
    lab = await startFaultLab({
      images: { app: images.app, agentServer: images.agentServer },
      pg,
      subnetPrefix: "10.242",
      timing: {
        healthTimeoutMs: 60_000,
        healthIntervalMs: 100,
        ensureWaitMs: 30_000,
        cullIntervalMs: 3_600_000,
        databaseTimeoutMs: 15_000,
        dockerTimeoutMs: 10_000,
      },
    });
    expect((await lab.ensure(bob)).status).toBe(200);
  });
  afterAll(async () => {
    if (process.env.FAULT_LOGS) require("node:fs").writeFileSync(process.env.FAULT_LOGS, lab?.logs.join("\n") ?? "");
    await lab?.close();
    if (postmaster !== pg?.pid) await killPostgres(postmaster).catch(() => undefined);
    await pg?.stop();
  });

  it(
    "GIVEN a new user's setup waiting inside PostgreSQL WHEN PostgreSQL is killed by PID THEN the spawner lives on, others are " +
      "served, the user gets a 502 naming the database, and after PostgreSQL is back the next ensure works",
    async () => {
      const alice = user(502);
      const lock = await holdSetupLock(alice.slug);
      const answer = lab.ensure(alice);
      await spawnerWaitingOnLock();
      await killPostgres(postmaster);
      await lock.end().catch(() => undefined);
      const failed = await answer;
      expect(failed.status).toBe(502);
      expect(failed.json()).toMatchObject({
        error: "start_failed",
        message: expect.stringMatching(/^preparing the user database failed: /),
      });
      await othersStillServed();
      // While PostgreSQL is down: a clear answer at once, for this user only.
      const whileDown = await lab.ensure(alice);
      expect(whileDown.status).toBe(502);
      expect(whileDown.json().message).toMatch(/database/);
      await othersStillServed();
      postmaster = await restartPostgres(pg);
      const retried = await lab.ensure(alice);
      expect(retried.status).toBe(200);
      expect(retried.json().state).toBe("running");
      expect(await roleExists(alice.slug)).toBe(true);
      expect(lab.logs.some((line) => line.includes("database connection lost"))).toBe(true);
    },
  );

  it(
    "GIVEN a new user's setup waiting inside PostgreSQL WHEN its connection is terminated (pg_terminate_backend, as a failover does) " +
      "THEN the user gets a 502 and the next ensure works",
    async () => {
      const carol = user(503);
      const lock = await holdSetupLock(carol.slug);
      const answer = lab.ensure(carol);
      const backend = await spawnerWaitingOnLock();
      await admin("SELECT pg_terminate_backend($1)", [backend]);
      const failed = await answer;
      await lock.end();
      expect(failed.status).toBe(502);
      expect(failed.json().message).toMatch(/^preparing the user database failed: .*terminat/);
      await othersStillServed();
      const retried = await lab.ensure(carol);
      expect(retried.status).toBe(200);
      expect(await roleExists(carol.slug)).toBe(true);
    },
  );

  it(
    "GIVEN a new user's setup between two statements WHEN its connection is reset (TCP RST, as a failover's dropped connection) THEN " +
      "the pooled client's 'error' is handled, the user gets a 502 and the next ensure works",
    async () => {
      const frank = user(506);
      const lock = await holdSetupLock(frank.slug);
      const answer = lab.ensure(frank);
      await spawnerWaitingOnLock();
      const clientPort = (
        await admin<{ client_port: number }>(
          "SELECT client_port FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'SELECT pg_advisory_lock%'",
        )
      )[0]!.client_port;
      // The spawner's next statement on this connection is answered with a reset (only this connection; the lab's own namespace).
      const rule = [
        "OUTPUT",
        "-p",
        "tcp",
        "-s",
        "127.0.0.1",
        "--sport",
        String(clientPort),
        "--dport",
        String(pg.port),
        "-j",
        "REJECT",
        "--reject-with",
        "tcp-reset",
      ];
      execFileSync("iptables", ["-I", ...rule]);
      try {
        await lock.end();
        const failed = await answer;
        expect(failed.status).toBe(502);
        expect(failed.json().message).toMatch(/^preparing the user database failed: /);
        await othersStillServed();
      } finally {
        execFileSync("iptables", ["-D", ...rule]);
      }
      const retried = await lab.ensure(frank);
      expect(retried.status).toBe(200);
      expect(await roleExists(frank.slug)).toBe(true);
    },
  );

  it(
    "GIVEN the admin password rotated and the host's file rewritten WHEN a new user starts THEN PostgreSQL's refusal (28P01) makes " +
      "the spawner read the file again and the start works",
    async () => {
      const dave = user(504);
      await admin(`ALTER ROLE ${pg.user} PASSWORD 'rotated-password-1'`);
      password = "rotated-password-1";
      writeFileSync(lab.passwordFile, `${password}\n`);
      // Pooled connections opened with the old password stay logged in: they end (idle timeout, failover) and new ones must log in.
      await admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()", [pg.user]);
      const answer = await lab.ensure(dave);
      expect(answer.status).toBe(200);
      expect(await roleExists(dave.slug)).toBe(true);
      expect(lab.logs.some((line) => line.includes("refused the admin password"))).toBe(true);
    },
  );

  it(
    "GIVEN the admin password rotated but the file NOT rewritten WHEN a new user starts THEN a clear 502 names the refused password " +
      "(no secret in it); once the file is rewritten the next ensure works",
    async () => {
      const erin = user(505);
      const stale = password;
      await admin(`ALTER ROLE ${pg.user} PASSWORD 'rotated-password-2'`);
      password = "rotated-password-2";
      await admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()", [pg.user]);
      const refused = await lab.ensure(erin);
      expect(refused.status).toBe(502);
      expect(refused.json().message).toMatch(/password authentication failed.*28P01/);
      expect(refused.body).not.toContain(stale);
      expect(refused.body).not.toContain(password);
      await othersStillServed();
      writeFileSync(lab.passwordFile, `${password}\n`);
      const retried = await lab.ensure(erin);
      expect(retried.status).toBe(200);
      expect(await roleExists(erin.slug)).toBe(true);
    },
  );
});
