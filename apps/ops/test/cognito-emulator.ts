import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AdminAddUserToGroupCommand,
  CognitoIdentityProviderClient,
  CreateGroupCommand,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
  type UserPoolMfaType,
} from "@aws-sdk/client-cognito-identity-provider";

/**
 * cognito-local (the npm package, https://github.com/jagregory/cognito-local) on 127.0.0.1, on a port the kernel
 * picks, with a data folder of its own; stopped by its PID. What it does not implement (AdminSetUserMFAPreference,
 * AdminCreateUser with MessageAction RESEND, ...) it answers with HTTP 500 `CognitoLocal#Unsupported`, and the tests
 * assert on that real answer.
 */
export class CognitoEmulator {
  private output = "";
  private constructor(
    private readonly child: ChildProcess,
    readonly dataDir: string,
    readonly endpoint: string,
  ) {
    child.stdout?.on("data", (chunk: Buffer) => (this.output += stripAnsi(chunk.toString())));
    child.stderr?.on("data", (chunk: Buffer) => (this.output += stripAnsi(chunk.toString())));
  }

  static async start(): Promise<CognitoEmulator> {
    const dataDir = mkdtempSync(join(tmpdir(), "oh-ops-cognito-"));
    // Its configuration and pools live in ./.cognito of its working folder; PORT=0 lets the kernel pick a free port.
    const child = spawn(process.execPath, [require.resolve("cognito-local/lib/bin/start.js")], {
      cwd: dataDir,
      env: { PATH: process.env.PATH ?? "", PORT: "0", HOST: "127.0.0.1", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let seen = "";
    const endpoint = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`cognito-local did not start within 30 s:\n${seen}`)), 30_000);
      const onData = (chunk: Buffer): void => {
        seen += stripAnsi(chunk.toString());
        const match = /Cognito Local running on (http:\/\/127\.0\.0\.1:\d+)/.exec(seen);
        if (match?.[1]) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      };
      child.stdout?.on("data", onData);
      child.stderr?.on("data", onData);
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`cognito-local exited with ${code} before listening:\n${seen}`));
      });
    });
    const emulator = new CognitoEmulator(child, dataDir, endpoint);
    emulator.output = seen;
    return emulator;
  }

  /** Everything the emulator printed (it prints the messages it would have e-mailed, temporary passwords included). */
  get log(): string {
    return this.output;
  }

  /** An SDK client for setting up and checking state, with the same dummy credentials the tests give the CLI. */
  client(): CognitoIdentityProviderClient {
    return new CognitoIdentityProviderClient({
      region: "us-east-1",
      endpoint: this.endpoint,
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
  }

  /** A pool shaped like the auth stack's: e-mail as the username, the given MFA mode; optionally with groups. */
  async createPool(options: { mfa: UserPoolMfaType; groups?: readonly string[] }): Promise<string> {
    const client = this.client();
    try {
      const pool = await client.send(
        new CreateUserPoolCommand({
          PoolName: `ops-test-${Date.now()}`,
          UsernameAttributes: ["email"],
          MfaConfiguration: options.mfa,
          AutoVerifiedAttributes: ["email"],
        }),
      );
      const id = pool.UserPool?.Id;
      if (!id) throw new Error("cognito-local created a pool without an id");
      for (const group of options.groups ?? []) await client.send(new CreateGroupCommand({ UserPoolId: id, GroupName: group }));
      return id;
    } finally {
      client.destroy();
    }
  }

  async createClient(userPoolId: string): Promise<string> {
    const client = this.client();
    try {
      const answer = await client.send(
        new CreateUserPoolClientCommand({ UserPoolId: userPoolId, ClientName: "ops-test", ExplicitAuthFlows: ["USER_PASSWORD_AUTH"] }),
      );
      return answer.UserPoolClient?.ClientId ?? "";
    } finally {
      client.destroy();
    }
  }

  async addToGroup(userPoolId: string, username: string, group: string): Promise<void> {
    const client = this.client();
    try {
      await client.send(new AdminAddUserToGroupCommand({ UserPoolId: userPoolId, Username: username, GroupName: group }));
    } finally {
      client.destroy();
    }
  }

  async stop(): Promise<void> {
    const pid = this.child.pid;
    if (pid !== undefined && this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((resolve) => this.child.once("exit", resolve));
      process.kill(pid, "SIGTERM");
      await exited;
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

function stripAnsi(text: string): string {
  return text.replace(/\x1b\[[0-9;]*m/g, "");
}
