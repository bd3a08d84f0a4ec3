import type { CliIo } from "./users/cli";

/**
 * Runs an operator command with the process's streams, environment and folder, and sets the exit code it returns.
 * The SDK release is pinned and supports this Node.js; its notice is about later releases and would precede every answer.
 */
export function runCommand(command: (argv: readonly string[], io: CliIo) => Promise<number>): void {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  command(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    cwd: process.cwd(),
  }).then((code) => {
    process.exitCode = code;
  });
}
