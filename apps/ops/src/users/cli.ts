import { parseArgs, type ParseArgsConfig } from "node:util";
import { EXIT, UsageError, AwsFailure } from "./errors";
import { parseEmail } from "./email";
import { PoolPeople, type Person } from "./people";
import { resolveUserPool, type PoolOptions } from "./user-pool";

/** Where the command writes and what it reads from its environment; the only place that touches argv and env. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

type Options = NonNullable<ParseArgsConfig["options"]>;

const POOL_OPTIONS: Options = {
  "user-pool-id": { type: "string" },
  outputs: { type: "string" },
  "stack-dir": { type: "string" },
  region: { type: "string" },
  endpoint: { type: "string" },
  help: { type: "boolean", short: "h" },
};

const POOL_HELP = `Which pool (the first one given wins):
  --user-pool-id <id>   the pool's id, like us-east-1_AbC123xyz
  --outputs <file>      JSON with the auth stack's user_pool_id output (\`terraform output -json\` in
                        apps/infra/cdktf.out/stacks/auth, or cdktf's --outputs-file)
  --stack-dir <dir>     run \`terraform output -json\` there (default: apps/infra/cdktf.out/stacks/auth)
  --region <region>     default: the region in the pool id (the auth stack puts the pool in us-east-1)
  --endpoint <url>      a Cognito-compatible endpoint instead of AWS's (for an emulator such as cognito-local)
Credentials: the AWS SDK's usual chain (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, SSO, ...).
Relative paths are taken from the folder the command was run in.`;

const EXIT_HELP = `Exit codes: 0 done; 2 bad arguments, bad e-mail, unknown person or pool, duplicate, refused; 1 AWS failed
(credentials, permissions, throttling, network).`;

interface Command {
  readonly summary: string;
  readonly usage: string;
  readonly details: string;
  readonly options: Options;
  readonly positionals: number;
  readonly run: (people: PoolPeople, args: ParsedCommand, io: CliIo) => Promise<void>;
}

interface ParsedCommand {
  readonly values: Record<string, string | boolean | undefined>;
  readonly positionals: readonly string[];
}

const COMMANDS: Record<string, Command> = {
  add: {
    summary: "invite a person by e-mail, or give them a temporary password",
    usage: "pnpm users add <email> [--temporary-password | --resend]",
    details: `Creates the person in the pool. By default Cognito e-mails them an invitation with a temporary password
(valid for 3 days with this project's pool); they choose their own password and register an authenticator
app at first sign-in.
  --temporary-password  send nothing: print a generated temporary password once, for you to hand over
  --resend              e-mail a new invitation to someone who has not signed in yet (the old one expired)`,
    options: { "temporary-password": { type: "boolean" }, resend: { type: "boolean" } },
    positionals: 1,
    async run(people, { values, positionals }, io) {
      const email = parseEmail(positionals[0]);
      if (values["temporary-password"] && values.resend) throw new UsageError("--temporary-password and --resend do not go together");
      const kind = values.resend ? "resend" : values["temporary-password"] ? "temporary-password" : "invite";
      const added = await people.add(email, { kind });
      if (added.temporaryPassword !== undefined) {
        io.stdout(
          `added ${email}; nothing was e-mailed. Temporary password (shown only now; it expires in 3 days, and they choose their ` +
            `own at first sign-in):\n`,
        );
        io.stdout(`${added.temporaryPassword}\n`);
      } else if (kind === "resend") {
        io.stdout(`sent ${email} a new invitation with a new temporary password\n`);
      } else {
        io.stdout(
          `added ${email}; Cognito e-mailed them an invitation with a temporary password (it expires in 3 days: \`pnpm users add ` +
            `${email} --resend\` sends a new one)\n`,
        );
      }
    },
  },
  list: {
    summary: "everyone in the pool: e-mail, status, enabled, MFA, groups, created",
    usage: "pnpm users list [--json]",
    details: `A table sorted by e-mail. Status is Cognito's: FORCE_CHANGE_PASSWORD until the first sign-in, then CONFIRMED.
The groups column appears when the pool has groups (nothing in this deployment reads them).
  --json   one JSON document instead: people with email, sub, slug (the user key that names their containers,
           database and EFS folder), status, enabled, mfa, groups, created`,
    options: { json: { type: "boolean" } },
    positionals: 0,
    async run(people, { values }, io) {
      const { people: everyone, groups } = await people.list();
      if (values.json) {
        io.stdout(`${JSON.stringify({ userPoolId: people.target.userPoolId, groups, people: everyone }, null, 2)}\n`);
        return;
      }
      if (everyone.length === 0) {
        io.stdout(`nobody in user pool ${people.target.userPoolId} yet: \`pnpm users add <email>\`\n`);
        return;
      }
      io.stdout(peopleTable(everyone, groups.length > 0));
    },
  },
  disable: {
    summary: "stop a person from signing in (reversible)",
    usage: "pnpm users disable <email>",
    details: `Cognito refuses their sign-in and their refresh token from now on. A session the edge already holds lasts
until its ID token expires (cognito.tokenMinutes, 60 minutes by default). Their data stays.`,
    options: {},
    positionals: 1,
    async run(people, { positionals }, io) {
      const email = parseEmail(positionals[0]);
      await people.disable(email);
      io.stdout(`disabled ${email}: no new sign-in or refresh; an open session ends when its token expires (cognito.tokenMinutes)\n`);
    },
  },
  enable: {
    summary: "let a disabled person sign in again",
    usage: "pnpm users enable <email>",
    details: "Undoes `disable`.",
    options: {},
    positionals: 1,
    async run(people, { positionals }, io) {
      const email = parseEmail(positionals[0]);
      await people.enable(email);
      io.stdout(`enabled ${email}\n`);
    },
  },
  remove: {
    summary: "delete a person from the pool (needs --yes)",
    usage: "pnpm users remove <email> --yes",
    details: `Deletes the person from the pool; this cannot be undone. Adding the same address again creates a new
identity with empty conversations and workspace. Their data stays on the host's stores under their user
key (printed): database oh_<slug>, EFS users/<slug>/, events under users/<slug>/ in the events bucket.
  --yes   required: confirms the deletion`,
    options: { yes: { type: "boolean" } },
    positionals: 1,
    async run(people, { values, positionals }, io) {
      const email = parseEmail(positionals[0]);
      if (!values.yes) {
        throw new UsageError(
          `remove deletes ${email} from user pool ${people.target.userPoolId} and cannot be undone: run it again with --yes ` +
            `(\`pnpm users disable\` is reversible)`,
        );
      }
      const removed = await people.remove(email);
      io.stdout(
        `removed ${email} (sub ${removed.sub}). Their data stays under user key ${removed.slug}: database oh_${removed.slug}, ` +
          `EFS users/${removed.slug}/, events under users/${removed.slug}/ (docs/operations.md, "Removing a person")\n`,
      );
    },
  },
  "reset-mfa": {
    summary: "turn off a person's authenticator (where Cognito allows it)",
    usage: "pnpm users reset-mfa <email>",
    details: `For someone who lost their authenticator app. Cognito allows this only in a pool where MFA is optional
(cognito.mfa: optional): their TOTP is turned off and they sign in with their password alone. In a pool that
requires MFA (cognito.mfa: required, the default) Cognito lets no administrator turn TOTP off or replace it;
the command says so and what to do instead (docs/operations.md, "Lost authenticator").`,
    options: {},
    positionals: 1,
    async run(people, { positionals }, io) {
      const email = parseEmail(positionals[0]);
      const result = await people.resetMfa(email);
      io.stdout(
        result.kind === "reset"
          ? `turned off ${email}'s authenticator: they sign in with their password alone (the login pages offer no new enrolment ` +
              `while MFA is optional)\n`
          : `${email} has no authenticator registered: nothing to reset\n`,
      );
    },
  },
};

/** Runs `pnpm users ...`; answers the exit code. */
export async function runUsersCli(argv: readonly string[], io: CliIo): Promise<number> {
  // `pnpm users -- list` passes pnpm's separator through.
  const args = argv[0] === "--" ? argv.slice(1) : [...argv];
  const first = args[0];
  if (first === undefined || first === "--help" || first === "-h" || (first === "help" && args[1] === undefined)) {
    io.stdout(mainHelp());
    return first === undefined ? EXIT.usage : EXIT.ok;
  }
  const name = first === "help" ? (args[1] as string) : first;
  const command = COMMANDS[name];
  if (command === undefined) {
    io.stderr(`pnpm users: unknown command ${JSON.stringify(name)}${suggest(name)}\n\n${mainHelp()}`);
    return EXIT.usage;
  }
  if (first === "help") {
    io.stdout(commandHelp(command));
    return EXIT.ok;
  }

  let people: PoolPeople | undefined;
  try {
    let parsed: ReturnType<typeof parseArgs>;
    try {
      parsed = parseArgs({ args: args.slice(1), options: { ...POOL_OPTIONS, ...command.options }, allowPositionals: true, strict: true });
    } catch (error) {
      throw new UsageError(`${(error as Error).message} (see \`pnpm users ${name} --help\`)`);
    }
    const values = parsed.values as Record<string, string | boolean | undefined>;
    if (values.help) {
      io.stdout(commandHelp(command));
      return EXIT.ok;
    }
    if (parsed.positionals.length > command.positionals) {
      throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[command.positionals])} (usage: ${command.usage})`);
    }
    if (parsed.positionals.length < command.positionals) throw new UsageError(`missing the e-mail address (usage: ${command.usage})`);
    const endpoint = values.endpoint as string | undefined;
    if (endpoint !== undefined && !/^https?:\/\/[^\s/]+/.test(endpoint)) {
      throw new UsageError(`--endpoint ${JSON.stringify(endpoint)} is not an http(s) URL`);
    }
    const poolOptions: PoolOptions = {
      ...(typeof values["user-pool-id"] === "string" ? { userPoolId: values["user-pool-id"] } : {}),
      ...(typeof values.outputs === "string" ? { outputs: values.outputs } : {}),
      ...(typeof values["stack-dir"] === "string" ? { stackDir: values["stack-dir"] } : {}),
      ...(typeof values.region === "string" ? { region: values.region } : {}),
    };
    // Bad input is refused before anything reaches AWS (or terraform).
    if (command.positionals === 1) parseEmail(parsed.positionals[0]);
    // pnpm runs the script in the package folder; relative paths mean the folder the operator typed the command in.
    const target = await resolveUserPool(poolOptions, io.env.INIT_CWD || io.cwd);
    people = PoolPeople.connect(target, endpoint);
    await command.run(people, { values, positionals: parsed.positionals }, io);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof UsageError || error instanceof AwsFailure) {
      io.stderr(`pnpm users ${name}: ${error.message}\n`);
      return error.exitCode;
    }
    io.stderr(`pnpm users ${name}: unexpected failure: ${(error as Error)?.message ?? String(error)}\n`);
    return EXIT.awsFailure;
  } finally {
    people?.destroy();
  }
}

export function peopleTable(people: readonly Person[], withGroups: boolean): string {
  const header = ["E-MAIL", "STATUS", "ENABLED", "MFA", ...(withGroups ? ["GROUPS"] : []), "CREATED (UTC)"];
  const rows = people.map((person) => [
    person.email,
    person.status,
    person.enabled ? "yes" : "no",
    person.mfa.length > 0 ? person.mfa.join(",") : "none",
    ...(withGroups ? [person.groups.length > 0 ? person.groups.join(",") : "-"] : []),
    person.created ? person.created.toISOString().slice(0, 16).replace("T", " ") : "-",
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    `${cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join("  ")}\n`;
  return [line(header), ...rows.map(line)].join("");
}

function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  return `Usage: pnpm users <command> [options]

People in the deployment's Cognito user pool.

Commands:
${Object.entries(COMMANDS)
  .map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`)
  .join("\n")}

\`pnpm users <command> --help\` describes a command.

${POOL_HELP}

${EXIT_HELP}
`;
}

function commandHelp(command: Command): string {
  return `Usage: ${command.usage} [pool options]\n\n${command.details}\n\n${POOL_HELP}\n\n${EXIT_HELP}\n`;
}

function suggest(name: string): string {
  const close = Object.keys(COMMANDS).find((candidate) => editDistance(candidate, name) <= 2);
  return close === undefined ? "" : ` (did you mean ${close}?)`;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
