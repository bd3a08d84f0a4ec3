/** The ALB health endpoint, start-up refusals on a bad key file, and what the logs never hold. */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { FakeSpawner } from "./harness/fake-spawner";
import { identityHeaders, makeUser, newKey } from "./harness/identity";
import { freePort, send, sleep } from "./harness/net";
import { APP_HOST, type RunningProxy, RUNTIME_DOMAIN, startFailure, startProxy } from "./harness/proxy";
import { sandboxAddress } from "./harness/subnet";

const key = newKey();
let spawner: FakeSpawner;
let proxy: RunningProxy;

beforeAll(async () => {
  spawner = new FakeSpawner(await freePort());
  await spawner.start();
  proxy = await startProxy({ spawnerPort: spawner.port, key });
});

afterAll(async () => {
  await proxy?.stop();
  await spawner?.stop();
});

describe("GET /_oh/health", () => {
  it.each([
    ["the instance address", "10.0.1.23:8080"],
    ["the app host", APP_HOST],
    ["a runtime host", `32771-abcdefghijklmnop.${RUNTIME_DOMAIN}`],
  ])("GIVEN %s as Host and a live spawner THEN 200 nginx ok, spawner ok, without identity", async (_name, host) => {
    const reply = await send(proxy.port, host, "/_oh/health");
    expect(reply.status).toBe(200);
    expect(reply.json).toEqual({ nginx: "ok", spawner: "ok" });
    expect(reply.headers["cache-control"]).toBe("no-store");
  });

  const probe = async () => {
    await sleep(1100); // the last probe's answer is reused for 1 s
    return send(proxy.port, "10.0.1.23", "/_oh/health");
  };

  it(
    "GIVEN the spawner process is gone (connection refused) THEN 503, nginx " + "ok, spawner unreachable (the watchdog restarts the stack)",
    async () => {
      await spawner.stop();
      try {
        const reply = await probe();
        expect(reply.status).toBe(503);
        expect(reply.json).toEqual({ nginx: "ok", spawner: "unreachable" });
        expect(reply.headers["cache-control"]).toBe("no-store");
      } finally {
        await spawner.start();
      }
      const back = await probe();
      expect(back.status).toBe(200);
      expect(back.json).toEqual({ nginx: "ok", spawner: "ok" });
    },
  );

  it(
    "GIVEN a hung spawner (accepts the connection, never answers) THEN 503 " + "spawner not_answering once the health timeout passed",
    async () => {
      spawner.health = "hang";
      try {
        const reply = await probe();
        expect(reply.status).toBe(503);
        expect(reply.json).toEqual({ nginx: "ok", spawner: "not_answering" });
      } finally {
        spawner.health = {
          status: 200,
          body: { status: "ok", checks: { docker: { ok: true }, database: { ok: true }, events: { ok: true } } },
        };
      }
    },
  );

  it(
    "GIVEN the spawner answers but PostgreSQL is down (its 503 degraded report) THEN 200 (no host replacement for a database " +
      "outage), the failing dependency named",
    async () => {
      spawner.health = {
        status: 503,
        body: {
          status: "degraded",
          checks: { docker: { ok: true }, database: { ok: false, error: "connect ECONNREFUSED 10.0.9.9:5432" }, events: { ok: true } },
        },
      };
      try {
        const reply = await probe();
        expect(reply.status).toBe(200);
        expect(reply.json).toEqual({ nginx: "ok", spawner: "degraded", failing: ["database"] });
        // the dependency's error text stays in the spawner's answer, not on the unauthenticated endpoint
        expect(reply.body).not.toContain("10.0.9.9");
      } finally {
        spawner.health = { status: 200, body: { status: "ok", checks: {} } };
      }
    },
  );

  it(
    "GIVEN a degraded report with hostile check names THEN only plain names are repeated; an answer that is not a health report is " +
      "503 unreachable",
    async () => {
      spawner.health = {
        status: 503,
        body: { status: "degraded", checks: { docker: { ok: false }, "a\r\nX-Evil: 1": { ok: false }, ["x".repeat(40)]: { ok: false } } },
      };
      try {
        const reply = await probe();
        expect(reply.status).toBe(200);
        expect(reply.json).toEqual({ nginx: "ok", spawner: "degraded", failing: ["docker"] });
        spawner.health = { status: 404, body: { error: "not found" } };
        const other = await probe();
        expect(other.status).toBe(503);
        expect(other.json).toEqual({ nginx: "ok", spawner: "unreachable" });
      } finally {
        spawner.health = { status: 200, body: { status: "ok", checks: {} } };
      }
    },
  );
});

describe("logs", () => {
  it("GIVEN refused and accepted requests with keys in query strings THEN neither log holds the signing key or a session key", async () => {
    const ada = makeUser("log-ada", "ada@example.com");
    const h = `40000-${ada.slug}.${RUNTIME_DOMAIN}`;
    await send(proxy.port, h, "/sockets/events/abc?session_api_key=SECRET-SESSION-KEY");
    await send(proxy.port, h, "/x?session_api_key=SECRET-SESSION-KEY", { headers: { "X-Session-API-Key": "SECRET-SESSION-KEY" } });
    const h2 = `40001-${ada.slug}.${RUNTIME_DOMAIN}`;
    // A sandbox address where nothing listens: the request is let through, and the upstream fails.
    spawner.routes.set(h2, {
      owner: ada.slug,
      upstream: `http://${sandboxAddress(41, 0)}:${await freePort()}`,
      kind: "worker",
      sessionKeySha256: null,
    });
    await send(proxy.port, h2, "/y?session_api_key=SECRET-SESSION-KEY", { headers: identityHeaders(key, h2, ada) });
    await send(proxy.port, h2, "/z?session_api_key=SECRET-SESSION-KEY", {
      headers: identityHeaders(key, h2, makeUser("other", "o@example.com")),
    });
    await send(proxy.port, APP_HOST, "/?x=1", { headers: identityHeaders(newKey(), APP_HOST, ada) });
    await send(proxy.port, APP_HOST, "/", { headers: identityHeaders(key, APP_HOST, ada) });
    // The proxy writes its own lines from a 0.2 s timer.
    for (
      let i = 0;
      i < 50 && !(proxy.errorLog().includes("refused runtime request") && proxy.errorLog().includes("route forgotten"));
      i += 1
    )
      await sleep(100);
    const access = readFileSync(join(proxy.prefix, "access.log"), "utf8");
    const errors = proxy.errorLog();
    expect(access).toContain("/sockets/events/abc");
    for (const log of [access, errors]) {
      expect(log).not.toContain("SECRET-SESSION-KEY");
      expect(log).not.toContain(key.toString("base64url"));
    }
    expect(errors).toContain("refused runtime request");
    expect(errors).toContain("failed (502); route forgotten");
  });
});

describe("start-up refusals", () => {
  it("GIVEN a missing key file THEN nginx refuses to start and names the file", async () => {
    const { code, output } = await startFailure({ spawnerPort: 1, key, settings: { identityKeyFile: "/nonexistent/oh-identity-key" } });
    expect(code).not.toBe(0);
    expect(output).toContain("cannot read the identity-signing key file /nonexistent/oh-identity-key");
  });

  it.each([
    ["a short key", Buffer.alloc(16).toString("base64url")],
    ["standard base64 with padding", `${newKey().toString("base64")}`],
    ["garbage", "not a key at all!"],
  ])("GIVEN %s THEN nginx refuses to start and says what the file must hold, without echoing it", async (_name, text) => {
    const { code, output } = await startFailure({ spawnerPort: 1, key, keyFileText: text });
    expect(code).not.toBe(0);
    expect(output).toContain("must hold 32 bytes as unpadded base64url");
    expect(output).not.toContain(text);
  });

  it("GIVEN the test prefix THEN nothing is left behind by a failed start", () => {
    expect(existsSync("/nonexistent/oh-identity-key")).toBe(false);
  });
});
