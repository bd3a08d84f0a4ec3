import { runUsageCli } from "./usage/cli";

// `pnpm usage ...`: see `pnpm usage --help`.
// The SDK release is pinned and supports this Node.js; its notice is about later releases and would precede every answer.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
runUsageCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  cwd: process.cwd(),
}).then((code) => {
  process.exitCode = code;
});
