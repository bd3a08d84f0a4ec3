/** `node dist/src/policy/cli.js [cdktf.out]`: runs the policy suite over a synthesized output; exit 1 on a failure. */
import { resolve } from "node:path";
import { PACKAGE_ROOT } from "../cli-options";
import { checkDeployment, formatReport, loadSynthesizedStacks } from "./index";

const outdir = resolve(process.argv[2] ?? resolve(PACKAGE_ROOT, "cdktf.out"));
try {
  const report = checkDeployment(loadSynthesizedStacks(outdir));
  console.log(formatReport(report));
  process.exitCode = report.failures.length || report.invalidSuppressions.length ? 1 : 0;
} catch (err) {
  console.error(`policy: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 2;
}
