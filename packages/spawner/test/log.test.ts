import { createLogger, redact } from "../src/log";

describe("structured logs", () => {
  it("GIVEN fields holding credentials THEN they are replaced before the line is written", () => {
    const lines: string[] = [];
    const log = createLogger({ write: (line) => lines.push(line) }).child({ component: "t" });
    log.info("start", {
      slug: "abcdefghijklmnop",
      password: "p1",
      dbPassword: "p2",
      nested: { apiKey: "k1", token: "t1" },
      env: ["DB_PASS=p3", "JWT_SECRET=s1", "OH_SESSION_API_KEYS_0=s2", "FILE_STORE=local"],
    });
    expect(lines).toHaveLength(1);
    const record = JSON.parse(lines[0]!);
    expect(record).toMatchObject({ level: "info", msg: "start", component: "t", slug: "abcdefghijklmnop" });
    expect(record.env).toEqual(["DB_PASS=[redacted]", "JWT_SECRET=[redacted]", "OH_SESSION_API_KEYS_0=[redacted]", "FILE_STORE=local"]);
    expect(lines[0]).not.toMatch(/p1|p2|p3|k1|t1|s1|s2/);
  });

  it("GIVEN a level below the minimum THEN nothing is written; errors are reduced to name and message", () => {
    const lines: string[] = [];
    const log = createLogger({ level: "warn", write: (line) => lines.push(line) });
    log.info("quiet");
    log.error("loud", { error: new Error("boom") });
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(["loud"]);
    expect(redact(new TypeError("x"))).toEqual({ name: "TypeError", message: "x" });
  });
});
