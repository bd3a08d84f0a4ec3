/**
 * The LLM gateway hook (files/host-bundle/llm-gateway/oh_llm_gateway.py) under Debian's python3 and unittest
 * (test/llm-gateway/test_oh_llm_gateway.py), each Python test reported here as a test of its own. LiteLLM cannot run
 * here: the Python tests load the hook against a stand-in of LiteLLM's auth and logger types (test/llm-gateway/standin),
 * and hold its key derivation to packages/contracts/vectors/llm-user-key.json.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";

const PYTHON = "/usr/bin/python3";
const folder = join(__dirname, "llm-gateway");
const run = spawnSync(PYTHON, ["-B", "report.py"], { cwd: folder, encoding: "utf8", timeout: 60_000 });
const output = `${run.stdout ?? ""}${run.stderr ?? ""}`;
// report.py prints one JSON line per test: {"id": "test_oh_llm_gateway.Class.test_name", "outcome", "details"}
const results = (run.stdout ?? "")
  .split("\n")
  .filter((line) => line.startsWith("{"))
  .map((line) => JSON.parse(line) as { id?: string; outcome?: string; details?: string })
  .filter((r): r is { id: string; outcome: string; details: string } => typeof r.id === "string" && typeof r.outcome === "string")
  .map(
    (r) =>
      [
        `${r.id.split(".")[1]}: ${r.id
          .split(".")[2]!
          .replace(/^test_/, "")
          .replace(/_/g, " ")}`,
        r.outcome,
        r.details,
      ] as const,
  );

test("GIVEN Debian's python3 WHEN the hook's unittest suite runs THEN it passes as a whole", () => {
  expect(run.error?.message ?? "").toBe("");
  if (run.status !== 0) throw new Error(`python3 report.py failed (exit ${run.status}):\n${output.slice(-4000)}`);
  expect(results.length).toBeGreaterThanOrEqual(20);
});

test.each(
  results.length ? results : [["no Python test found", "missing", output.slice(-4000)] as const],
)("python: %s", (_name, outcome, details) => {
  if (outcome !== "ok") throw new Error(`${outcome}\n${details}`);
});
