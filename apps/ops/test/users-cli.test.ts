import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  AdminGetUserCommand,
  AdminSetUserPasswordCommand,
  AssociateSoftwareTokenCommand,
  InitiateAuthCommand,
  VerifySoftwareTokenCommand,
  type AdminGetUserCommandOutput,
} from "@aws-sdk/client-cognito-identity-provider";
import { runUsersCli } from "../src/users/cli";
import { userSlug as contractUserSlug } from "@openhands-team/contracts";
import slugVectors from "@openhands-team/contracts/vectors/slug.json";
import { userSlug } from "../src";
import { CognitoEmulator } from "./cognito-emulator";
import { totpCode } from "./totp";

const PACKAGE_ROOT = resolve(__dirname, "..");
let emulator: CognitoEmulator;
let scratch: string;

beforeAll(async () => {
  // The CLI runs in this process with the SDK's default credential chain; the emulator accepts any key.
  process.env.AWS_ACCESS_KEY_ID = "local";
  process.env.AWS_SECRET_ACCESS_KEY = "local";
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
  emulator = await CognitoEmulator.start();
  scratch = mkdtempSync(join(tmpdir(), "oh-ops-test-"));
});

afterAll(async () => {
  await emulator?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function users(...argv: string[]): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const code = await runUsersCli(argv, {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    env: { ...process.env, INIT_CWD: scratch },
    cwd: PACKAGE_ROOT,
  });
  return { code, stdout, stderr };
}

/** `users` against the emulator and one pool. */
function on(pool: string): (...argv: string[]) => Promise<Run> {
  return (...argv) => users(...argv, "--user-pool-id", pool, "--endpoint", emulator.endpoint);
}

async function getUser(pool: string, email: string): Promise<AdminGetUserCommandOutput | undefined> {
  const client = emulator.client();
  try {
    return await client.send(new AdminGetUserCommand({ UserPoolId: pool, Username: email }));
  } catch (error) {
    if ((error as Error).name === "UserNotFoundException") return undefined;
    throw error;
  } finally {
    client.destroy();
  }
}

function attr(user: AdminGetUserCommandOutput | undefined, name: string): string | undefined {
  return user?.UserAttributes?.find((entry) => entry.Name === name)?.Value;
}

/** Signs the person in with a permanent password and registers an authenticator, as the hosted pages would. */
async function registerAuthenticator(pool: string, email: string): Promise<void> {
  const client = emulator.client();
  try {
    const clientId = await emulator.createClient(pool);
    const password = "Correct-Horse-9-Battery";
    await client.send(new AdminSetUserPasswordCommand({ UserPoolId: pool, Username: email, Password: password, Permanent: true }));
    const auth = await client.send(
      new InitiateAuthCommand({
        ClientId: clientId,
        AuthFlow: "USER_PASSWORD_AUTH",
        AuthParameters: { USERNAME: email, PASSWORD: password },
      }),
    );
    const accessToken = auth.AuthenticationResult?.AccessToken;
    if (!accessToken) throw new Error(`no access token for ${email}: ${JSON.stringify(auth.ChallengeName)}`);
    const association = await client.send(new AssociateSoftwareTokenCommand({ AccessToken: accessToken }));
    await client.send(new VerifySoftwareTokenCommand({ AccessToken: accessToken, UserCode: totpCode(association.SecretCode ?? "") }));
  } finally {
    client.destroy();
  }
}

describe("pnpm users: help and usage", () => {
  test("GIVEN --help WHEN run THEN every command is listed with the pool options and exit codes, exit 0", async () => {
    const run = await users("--help");
    expect(run.code).toBe(0);
    for (const command of ["add", "list", "disable", "enable", "remove", "reset-mfa"])
      expect(run.stdout).toMatch(new RegExp(`^  ${command} `, "m"));
    expect(run.stdout).toContain("--user-pool-id");
    expect(run.stdout).toContain("Exit codes");
  });

  test.each([
    "add",
    "list",
    "disable",
    "enable",
    "remove",
    "reset-mfa",
  ])("GIVEN %s --help WHEN run THEN its own usage, exit 0, and nothing reaches AWS", async (command) => {
    const run = await users(command, "--help");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^Usage: pnpm users ${command}`));
    const viaHelp = await users("help", command);
    expect(viaHelp.stdout).toBe(run.stdout);
  });

  test("GIVEN no command WHEN run THEN the help and exit 2", async () => {
    const run = await users();
    expect(run.code).toBe(2);
    expect(run.stdout).toContain("Usage: pnpm users <command>");
  });

  test("GIVEN an unknown command or option WHEN run THEN a usage error naming it, exit 2", async () => {
    const unknown = await users("lsit");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "lsit"');
    expect(unknown.stderr).toContain("did you mean list?");
    const option = await users("list", "--user-pool-id", "us-east-1_abc", "--colour");
    expect(option.code).toBe(2);
    expect(option.stderr).toContain("--colour");
    const extra = await users("disable", "a@example.com", "b@example.com", "--user-pool-id", "us-east-1_abc");
    expect(extra.code).toBe(2);
    expect(extra.stderr).toContain('unexpected argument "b@example.com"');
    const missing = await users("disable", "--user-pool-id", "us-east-1_abc");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("missing the e-mail address");
  });

  test("GIVEN pnpm's `--` separator WHEN run THEN it is not taken for an argument", async () => {
    const run = await users("--", "list", "--help");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: pnpm users list/);
  });
});

describe("pnpm users add", () => {
  test("GIVEN a new address WHEN add THEN Cognito invites them by e-mail, the address is verified, and no password is shown", async () => {
    const pool = await emulator.createPool({ mfa: "ON" });
    const run = await on(pool)("add", "Ada.Lovelace@Example.com");
    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(run.stdout).toContain("e-mailed them an invitation");
    const user = await getUser(pool, "ada.lovelace@example.com");
    expect(user?.UserStatus).toBe("FORCE_CHANGE_PASSWORD");
    expect(attr(user, "email")).toBe("ada.lovelace@example.com");
    expect(attr(user, "email_verified")).toBe("true");
    // The emulator prints the invitation it would have e-mailed, with the temporary password Cognito generated.
    const delivery = emulator.log.slice(emulator.log.lastIndexOf("Destination: ada.lovelace@example.com"));
    const code = /Code:\s+(\S+)/.exec(delivery)?.[1];
    expect(code).toBeDefined();
    expect(run.stdout).not.toContain(code as string);
  });

  test(
    "GIVEN --temporary-password WHEN add THEN the printed password is the one that signs in (once, to a new-password challenge), " +
      "nothing is e-mailed",
    async () => {
      const pool = await emulator.createPool({ mfa: "ON" });
      const before = emulator.log.length;
      const run = await on(pool)("add", "grace@example.com", "--temporary-password");
      expect(run.code).toBe(0);
      const password = run.stdout.trim().split("\n").at(-1) ?? "";
      expect(password).toMatch(/^\S{20}$/);
      expect(emulator.log.slice(before)).not.toContain("Destination: grace@example.com");
      const clientId = await emulator.createClient(pool);
      const client = emulator.client();
      try {
        const auth = await client.send(
          new InitiateAuthCommand({
            ClientId: clientId,
            AuthFlow: "USER_PASSWORD_AUTH",
            AuthParameters: { USERNAME: "grace@example.com", PASSWORD: password },
          }),
        );
        expect(auth.ChallengeName).toBe("NEW_PASSWORD_REQUIRED");
      } finally {
        client.destroy();
      }
    },
  );

  test("GIVEN someone already in the pool WHEN add THEN a duplicate error, exit 2, and their account is unchanged", async () => {
    const pool = await emulator.createPool({ mfa: "ON" });
    expect((await on(pool)("add", "alan@example.com")).code).toBe(0);
    const before = await getUser(pool, "alan@example.com");
    const again = await on(pool)("add", "ALAN@example.com", "--temporary-password");
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`alan@example.com is already in user pool ${pool}`);
    expect(again.stdout).toBe("");
    expect(attr(await getUser(pool, "alan@example.com"), "sub")).toBe(attr(before, "sub"));
  });

  test.each([
    ["no at sign", "alan.example.com"],
    ["no dot in the domain", "alan@localhost"],
    ["a space", "alan turing@example.com"],
    ["a line break that would shift the signed identity's fields", "alan@example.com\nx-oh-user: admin"],
    ["quotes", '"alan"@example.com'],
    ["angle brackets", "Alan <alan@example.com>"],
    ["an empty local part", "@example.com"],
    ["a label starting with a hyphen", "alan@-example.com"],
    ["an over-long address", `${"a".repeat(64)}@${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(63)}.com`],
  ])("GIVEN an address with %s WHEN add THEN refused before AWS, exit 2", async (_why, email) => {
    const pool = await emulator.createPool({ mfa: "ON" });
    const run = await on(pool)("add", email);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("is not an e-mail address");
    expect((await on(pool)("list", "--json")).stdout).toContain('"people": []');
  });

  test("GIVEN --resend for someone who already signed in THEN refused with what to do instead, exit 2", async () => {
    const pool = await emulator.createPool({ mfa: "OPTIONAL" });
    await on(pool)("add", "joan@example.com");
    const client = emulator.client();
    await client.send(
      new AdminSetUserPasswordCommand({
        UserPoolId: pool,
        Username: "joan@example.com",
        Password: "Correct-Horse-9-Battery",
        Permanent: true,
      }),
    );
    client.destroy();
    const run = await on(pool)("add", "joan@example.com", "--resend");
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("has already signed in (status CONFIRMED)");
    expect(run.stderr).toContain("Forgot your password?");
  });

  test(
    "GIVEN --resend for an invited person WHEN the service cannot do it THEN its answer is reported as a failure, exit 1 " +
      "(cognito-local lacks RESEND)",
    async () => {
      const pool = await emulator.createPool({ mfa: "ON" });
      await on(pool)("add", "katherine@example.com");
      const run = await on(pool)("add", "katherine@example.com", "--resend");
      // Real Cognito sends a new invitation here; cognito-local 5.3.0 answers HTTP 500 CognitoLocal#Unsupported.
      expect(run.code).toBe(1);
      expect(run.stderr).toContain("AdminCreateUser failed for katherine@example.com");
      expect(run.stderr).toContain("MessageAction=RESEND");
      const unknown = await on(pool)("add", "nobody@example.com", "--resend");
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain("no user nobody@example.com");
    },
  );

  test("GIVEN --temporary-password and --resend together THEN a usage error, exit 2", async () => {
    const pool = await emulator.createPool({ mfa: "ON" });
    const run = await on(pool)("add", "x@example.com", "--temporary-password", "--resend");
    expect(run.code).toBe(2);
    expect(await getUser(pool, "x@example.com")).toBeUndefined();
  });
});

describe("pnpm users list", () => {
  test(
    "GIVEN people in several states WHEN list THEN a table sorted by e-mail with status, enabled, MFA and created; no groups column " +
      "without groups",
    async () => {
      const pool = await emulator.createPool({ mfa: "OPTIONAL" });
      const run = on(pool);
      await run("add", "zoe@example.com");
      await run("add", "bob@example.com", "--temporary-password");
      await run("add", "mia@example.com");
      await run("disable", "mia@example.com");
      await registerAuthenticator(pool, "zoe@example.com");
      const listed = await run("list");
      expect(listed.code).toBe(0);
      const lines = listed.stdout.trimEnd().split("\n");
      expect(lines[0]).toMatch(/^E-MAIL\s+STATUS\s+ENABLED\s+MFA\s+CREATED \(UTC\)$/);
      expect(lines.slice(1).map((line) => line.split(/\s+/).slice(0, 4))).toEqual([
        ["bob@example.com", "FORCE_CHANGE_PASSWORD", "yes", "none"],
        ["mia@example.com", "FORCE_CHANGE_PASSWORD", "no", "none"],
        ["zoe@example.com", "CONFIRMED", "yes", "TOTP"],
      ]);
      const today = new Date().toISOString().slice(0, 10);
      for (const line of lines.slice(1)) expect(line).toContain(today);
    },
  );

  test("GIVEN a pool with groups WHEN list THEN a groups column shows each person's groups", async () => {
    const pool = await emulator.createPool({ mfa: "ON", groups: ["admins", "users"] });
    await on(pool)("add", "ops@example.com");
    await on(pool)("add", "dev@example.com");
    const ops = await getUser(pool, "ops@example.com");
    await emulator.addToGroup(pool, ops?.Username ?? "", "admins");
    await emulator.addToGroup(pool, ops?.Username ?? "", "users");
    const listed = await on(pool)("list");
    const lines = listed.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^E-MAIL\s+STATUS\s+ENABLED\s+MFA\s+GROUPS\s+CREATED/);
    expect(lines[1]?.split(/\s+/).slice(0, 5)).toEqual(["dev@example.com", "FORCE_CHANGE_PASSWORD", "yes", "none", "-"]);
    expect(lines[2]?.split(/\s+/).slice(0, 5)).toEqual(["ops@example.com", "FORCE_CHANGE_PASSWORD", "yes", "none", "admins,users"]);
  });

  test("GIVEN --json WHEN list THEN each person's sub and the user key the edge derives from it", async () => {
    const pool = await emulator.createPool({ mfa: "ON" });
    await on(pool)("add", "lin@example.com");
    const listed = await on(pool)("list", "--json");
    const document = JSON.parse(listed.stdout) as {
      userPoolId: string;
      people: Array<{ email: string; sub: string; slug: string; enabled: boolean }>;
    };
    expect(document.userPoolId).toBe(pool);
    expect(document.people).toHaveLength(1);
    const person = document.people[0];
    expect(person?.sub).toBe(attr(await getUser(pool, "lin@example.com"), "sub"));
    expect(person?.slug).toBe(contractUserSlug(person?.sub ?? ""));
    expect(person?.enabled).toBe(true);
  });

  test("GIVEN an empty pool WHEN list THEN says so, exit 0", async () => {
    const pool = await emulator.createPool({ mfa: "ON" });
    const listed = await on(pool)("list");
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain("nobody in user pool");
  });
});

describe("pnpm users disable, enable, remove", () => {
  test("GIVEN a person WHEN disable then enable THEN Cognito's Enabled flag follows", async () => {
    const pool = await emulator.createPool({ mfa: "ON" });
    await on(pool)("add", "ida@example.com");
    expect((await on(pool)("disable", "ida@example.com")).code).toBe(0);
    expect((await getUser(pool, "ida@example.com"))?.Enabled).toBe(false);
    expect((await on(pool)("enable", "IDA@example.com")).code).toBe(0);
    expect((await getUser(pool, "ida@example.com"))?.Enabled).toBe(true);
  });

  test.each(["disable", "enable", "reset-mfa"])("GIVEN an unknown person WHEN %s THEN an unknown-user error, exit 2", async (command) => {
    const pool = await emulator.createPool({ mfa: "OPTIONAL" });
    const run = await on(pool)(command, "ghost@example.com");
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`no user ghost@example.com in user pool ${pool}`);
  });

  test("GIVEN remove without --yes THEN refused, exit 2, and the person stays", async () => {
    const pool = await emulator.createPool({ mfa: "ON" });
    await on(pool)("add", "kay@example.com");
    const run = await on(pool)("remove", "kay@example.com");
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("--yes");
    expect(await getUser(pool, "kay@example.com")).toBeDefined();
  });

  test("GIVEN remove --yes THEN the person is gone and the user key of their leftover data is printed", async () => {
    const pool = await emulator.createPool({ mfa: "ON" });
    await on(pool)("add", "kay@example.com");
    const sub = attr(await getUser(pool, "kay@example.com"), "sub") ?? "";
    const run = await on(pool)("remove", "kay@example.com", "--yes");
    expect(run.code).toBe(0);
    expect(await getUser(pool, "kay@example.com")).toBeUndefined();
    expect(run.stdout).toContain(`sub ${sub}`);
    expect(run.stdout).toContain(`database oh_${contractUserSlug(sub)}`);
    const again = await on(pool)("remove", "kay@example.com", "--yes");
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("no user kay@example.com");
  });
});

describe("pnpm users reset-mfa", () => {
  test("GIVEN a pool that requires MFA (the project's default) THEN refused with Cognito's rule and the way out, exit 2", async () => {
    const pool = await emulator.createPool({ mfa: "ON" });
    await on(pool)("add", "eve@example.com");
    const run = await on(pool)("reset-mfa", "eve@example.com");
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("requires MFA");
    expect(run.stderr).toContain("remove them and add them again");
  });

  test("GIVEN a pool with MFA off THEN nothing to reset, exit 2", async () => {
    const pool = await emulator.createPool({ mfa: "OFF" });
    await on(pool)("add", "eve@example.com");
    const run = await on(pool)("reset-mfa", "eve@example.com");
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("MFA is off");
  });

  test("GIVEN optional MFA and nobody registered an authenticator THEN nothing to reset, exit 0", async () => {
    const pool = await emulator.createPool({ mfa: "OPTIONAL" });
    await on(pool)("add", "eve@example.com");
    const run = await on(pool)("reset-mfa", "eve@example.com");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("has no authenticator registered");
  });

  test(
    "GIVEN optional MFA and a registered authenticator THEN AdminSetUserMFAPreference is sent, and the emulator's refusal is a " +
      "failure, exit 1 (cognito-local lacks it)",
    async () => {
      const pool = await emulator.createPool({ mfa: "OPTIONAL" });
      await on(pool)("add", "eve@example.com");
      await registerAuthenticator(pool, "eve@example.com");
      expect((await getUser(pool, "eve@example.com"))?.UserMFASettingList).toEqual(["SOFTWARE_TOKEN_MFA"]);
      const run = await on(pool)("reset-mfa", "eve@example.com");
      // Real Cognito turns TOTP off here; cognito-local 5.3.0 answers HTTP 500 CognitoLocal#Unsupported for this operation.
      expect(run.code).toBe(1);
      expect(run.stderr).toContain("AdminSetUserMFAPreference failed for eve@example.com");
      expect(run.stderr).toContain("unsupported");
    },
  );
});

describe("which pool, and AWS failures", () => {
  test("GIVEN a pool id nobody created THEN an unknown-pool error naming it and the region, exit 2", async () => {
    const run = await users("list", "--user-pool-id", "us-east-1_Nope12345", "--endpoint", emulator.endpoint);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("user pool us-east-1_Nope12345 not found in us-east-1");
  });

  test.each([
    ["not an id", ["--user-pool-id", "my pool"], "is not a Cognito user pool id"],
    [
      "a region the id contradicts",
      ["--user-pool-id", "eu-west-1_abc", "--region", "us-east-1"],
      "is in eu-west-1, not in --region us-east-1",
    ],
    ["a bad region", ["--user-pool-id", "local_abc", "--region", "Virginia"], "is not an AWS region"],
    ["a bad endpoint", ["--user-pool-id", "local_abc", "--endpoint", "ftp://x"], "is not an http(s) URL"],
  ])("GIVEN %s THEN a usage error, exit 2", async (_why, flags, message) => {
    const run = await users("list", ...flags);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
  });

  test.each([
    [
      "terraform output -json",
      (id: string) => ({ login_url: { value: "https://x" }, user_pool_id: { sensitive: false, type: "string", value: id } }),
    ],
    ["cdktf --outputs-file", (id: string) => ({ auth: { user_pool_id: id, login_url: "https://x" } })],
    ["a flat object", (id: string) => ({ user_pool_id: id })],
  ])("GIVEN --outputs with %s THEN the pool comes from it (relative to where the command was run)", async (_shape, outputs) => {
    const pool = await emulator.createPool({ mfa: "ON" });
    await on(pool)("add", "out@example.com");
    writeFileSync(join(scratch, "auth-outputs.json"), JSON.stringify(outputs(pool)));
    const run = await users("list", "--outputs", "auth-outputs.json", "--endpoint", emulator.endpoint);
    expect(run.stderr).toBe("");
    expect(run.stdout).toContain("out@example.com");
  });

  test.each([
    ["no such file", null, "cannot read it (ENOENT)"],
    ["not JSON", "user_pool_id = x", "not JSON"],
    ["no user_pool_id", JSON.stringify({ login_url: { value: "https://x" } }), "no user_pool_id output"],
  ])("GIVEN --outputs with %s THEN a usage error, exit 2", async (_why, content, message) => {
    const file = join(scratch, `outputs-${Math.random().toString(36).slice(2)}.json`);
    if (content !== null) writeFileSync(file, content);
    const run = await users("list", "--outputs", file, "--endpoint", emulator.endpoint);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
  });

  test("GIVEN no pool option and a stack folder that does not exist THEN told how to name the pool, exit 2", async () => {
    const run = await users("list", "--stack-dir", "no-such-stack", "--endpoint", emulator.endpoint);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("pass --user-pool-id <id>, --outputs <file>");
  });

  test("GIVEN a deployed auth stack's state WHEN no pool option THEN `terraform output -json` there names the pool", async () => {
    const terraform = await new Promise<boolean>((resolveFound) => execFile("terraform", ["version"], (error) => resolveFound(!error)));
    if (!terraform) {
      console.warn("SKIPPED: terraform is not installed, so `terraform output -json` in the auth stack cannot be run");
      return;
    }
    const pool = await emulator.createPool({ mfa: "ON" });
    await on(pool)("add", "tf@example.com");
    const stack = join(scratch, "stacks", "auth");
    mkdirSync(stack, { recursive: true });
    // A local-backend state as `terraform apply` leaves it: outputs live in the state, read without providers.
    writeFileSync(
      join(stack, "terraform.tfstate"),
      JSON.stringify({
        version: 4,
        terraform_version: "1.11.4",
        serial: 1,
        lineage: "00000000-0000-0000-0000-000000000000",
        outputs: { user_pool_id: { value: pool, type: "string" }, login_url: { value: "https://login.example.com", type: "string" } },
        resources: [],
        check_results: null,
      }),
    );
    const run = await users("list", "--stack-dir", "stacks/auth", "--endpoint", emulator.endpoint);
    expect(run.stderr).toBe("");
    expect(run.stdout).toContain("tf@example.com");
  });

  test(
    "GIVEN no AWS credentials anywhere WHEN the real command runs THEN the " +
      "SDK's CredentialsProviderError becomes a clear message, exit 1",
    async () => {
      const home = mkdtempSync(join(scratch, "home-"));
      const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        HOME: home,
        AWS_CONFIG_FILE: join(home, "no-config"),
        AWS_SHARED_CREDENTIALS_FILE: join(home, "no-credentials"),
        // No instance metadata service to wait for on a developer machine.
        AWS_EC2_METADATA_DISABLED: "true",
      };
      const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolveRun) => {
        const child = execFile(
          join(PACKAGE_ROOT, "node_modules/.bin/tsx"),
          [join(PACKAGE_ROOT, "src/users-cli.ts"), "list", "--user-pool-id", "us-east-1_abc123", "--endpoint", emulator.endpoint],
          { env, cwd: PACKAGE_ROOT, timeout: 60_000 },
          (_error, stdout, stderr) => resolveRun({ code: child.exitCode, stdout, stderr }),
        );
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("pnpm users list: no AWS credentials found");
      expect(result.stderr).not.toContain("at ");
      expect(result.stdout).toBe("");
    },
  );

  test("GIVEN the real command and a usage error THEN the process exits 2", async () => {
    const code = await new Promise<number | null>((resolveRun) => {
      const child = execFile(
        join(PACKAGE_ROOT, "node_modules/.bin/tsx"),
        [join(PACKAGE_ROOT, "src/users-cli.ts"), "add", "not-an-address"],
        { timeout: 60_000 },
        () => resolveRun(child.exitCode),
      );
    });
    expect(code).toBe(2);
  });
});

describe("user key", () => {
  test("GIVEN the shared slug vectors (unicode subs included) THEN the slug ops prints is the contract's (docs/CONTRACTS.md)", () => {
    expect(slugVectors.vectors.length).toBeGreaterThan(0);
    for (const v of slugVectors.vectors) {
      expect(userSlug(v.sub)).toBe(v.slug);
      expect(userSlug(v.sub)).toMatch(/^[a-z2-7]{16}$/);
    }
  });
});
