import { runCommand } from "./command";
import { runUsageCli } from "./usage/cli";

// `pnpm usage ...`: see `pnpm usage --help`.
runCommand((argv, io) => runUsageCli(argv, io));
