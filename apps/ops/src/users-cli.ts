import { runCommand } from "./command";
import { runUsersCli } from "./users/cli";

// `pnpm users ...`: see `pnpm users --help`.
runCommand(runUsersCli);
