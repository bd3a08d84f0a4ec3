import {
  AdminCreateUserCommand,
  AdminDeleteUserCommand,
  AdminDisableUserCommand,
  AdminEnableUserCommand,
  AdminGetUserCommand,
  AdminSetUserMFAPreferenceCommand,
  CognitoIdentityProviderClient,
  GetUserPoolMfaConfigCommand,
  ListGroupsCommand,
  ListUsersCommand,
  ListUsersInGroupCommand,
  type AttributeType,
  type UserType,
} from "@aws-sdk/client-cognito-identity-provider";
import { explainAwsError, UsageError } from "./errors";
import { temporaryPassword } from "./temporary-password";
import type { UserPoolTarget } from "./user-pool";
import { userSlug } from "@openhands-team/contracts";

/** One person in the pool, as `list` shows them. */
export interface Person {
  readonly email: string;
  /** Cognito's `sub`: the identity the edge signs, from which the user slug comes. */
  readonly sub: string;
  readonly slug: string;
  /** Cognito's UserStatus: FORCE_CHANGE_PASSWORD until the first sign-in, then CONFIRMED, and so on. */
  readonly status: string;
  readonly enabled: boolean;
  /** Registered second factors: `TOTP` (the only one this project's pool offers), `SMS`, `EMAIL`. */
  readonly mfa: readonly string[];
  readonly groups: readonly string[];
  readonly created?: Date;
}

export interface PeopleList {
  readonly people: readonly Person[];
  /** Groups the pool has; empty when it has none. */
  readonly groups: readonly string[];
}

export type AddMode =
  /** Cognito generates a temporary password and e-mails the invitation. */
  | { readonly kind: "invite" }
  /** We generate the temporary password and hand it to the operator, once; Cognito sends nothing. */
  | { readonly kind: "temporary-password" }
  /** Cognito e-mails a new temporary password to someone who has not signed in yet. */
  | { readonly kind: "resend" };

export interface AddResult {
  readonly email: string;
  readonly sub: string;
  /** Only for `temporary-password`: the one time it is shown. */
  readonly temporaryPassword?: string;
}

export type ResetMfaResult =
  | { readonly kind: "reset"; readonly email: string }
  | { readonly kind: "nothing-registered"; readonly email: string };

const MFA_NAMES: Record<string, string> = { SOFTWARE_TOKEN_MFA: "TOTP", SMS_MFA: "SMS", EMAIL_OTP: "EMAIL" };
// Parallel AdminGetUser calls in `list`: well inside Cognito's default request-rate quotas for user reads.
const READ_CONCURRENCY = 4;

/** The people of one deployment's Cognito user pool, through the AWS SDK's administrator API. */
export class PoolPeople {
  constructor(
    private readonly client: CognitoIdentityProviderClient,
    readonly target: UserPoolTarget,
  ) {}

  static connect(target: UserPoolTarget, endpoint?: string): PoolPeople {
    return new PoolPeople(new CognitoIdentityProviderClient({ region: target.region, ...(endpoint ? { endpoint } : {}) }), target);
  }

  destroy(): void {
    this.client.destroy();
  }

  async add(email: string, mode: AddMode): Promise<AddResult> {
    if (mode.kind === "resend") {
      const user = await this.get(email, "AdminGetUser");
      if (user.status !== "FORCE_CHANGE_PASSWORD") {
        throw new UsageError(
          `${email} has already signed in (status ${user.status}): there is no invitation to send again; ` +
            `they use "Forgot your password?" on the login page`,
        );
      }
      await this.call("AdminCreateUser", email, () =>
        this.client.send(
          new AdminCreateUserCommand({
            UserPoolId: this.pool,
            Username: email,
            MessageAction: "RESEND",
            DesiredDeliveryMediums: ["EMAIL"],
          }),
        ),
      );
      return { email, sub: user.sub };
    }
    const password = mode.kind === "temporary-password" ? temporaryPassword() : undefined;
    const answer = await this.call("AdminCreateUser", email, () =>
      this.client.send(
        new AdminCreateUserCommand({
          UserPoolId: this.pool,
          Username: email,
          // The operator vouches for the address: "Forgot your password?" can use it from day one.
          UserAttributes: [
            { Name: "email", Value: email },
            { Name: "email_verified", Value: "true" },
          ],
          DesiredDeliveryMediums: ["EMAIL"],
          ...(password === undefined ? {} : { MessageAction: "SUPPRESS", TemporaryPassword: password }),
        }),
      ),
    );
    const sub = attribute(answer.User?.Attributes, "sub") ?? answer.User?.Username ?? "";
    return { email, sub, ...(password === undefined ? {} : { temporaryPassword: password }) };
  }

  async list(): Promise<PeopleList> {
    const users: UserType[] = [];
    let token: string | undefined;
    do {
      const page = await this.call("ListUsers", undefined, () =>
        this.client.send(new ListUsersCommand({ UserPoolId: this.pool, Limit: 60, PaginationToken: token })),
      );
      users.push(...(page.Users ?? []));
      token = page.PaginationToken;
    } while (token);

    const groups: string[] = [];
    let groupToken: string | undefined;
    do {
      const page = await this.call("ListGroups", undefined, () =>
        this.client.send(new ListGroupsCommand({ UserPoolId: this.pool, Limit: 60, NextToken: groupToken })),
      );
      groups.push(...(page.Groups ?? []).map((group) => group.GroupName ?? "").filter((name) => name !== ""));
      groupToken = page.NextToken;
    } while (groupToken);

    const groupsOf = new Map<string, string[]>();
    for (const group of groups.sort()) {
      let memberToken: string | undefined;
      do {
        const page = await this.call("ListUsersInGroup", undefined, () =>
          this.client.send(new ListUsersInGroupCommand({ UserPoolId: this.pool, GroupName: group, Limit: 60, NextToken: memberToken })),
        );
        for (const member of page.Users ?? []) {
          const key = member.Username ?? "";
          groupsOf.set(key, [...(groupsOf.get(key) ?? []), group]);
        }
        memberToken = page.NextToken;
      } while (memberToken);
    }

    // ListUsers does not say who registered a second factor; AdminGetUser does, one person at a time.
    const mfaOf = new Map<string, string[]>();
    const queue = users.map((user) => user.Username ?? "").filter((name) => name !== "");
    const worker = async (): Promise<void> => {
      for (let username = queue.shift(); username !== undefined; username = queue.shift()) {
        const name = username;
        const detail = await this.call("AdminGetUser", undefined, () =>
          this.client.send(new AdminGetUserCommand({ UserPoolId: this.pool, Username: name })),
        );
        mfaOf.set(
          name,
          (detail.UserMFASettingList ?? []).map((setting) => MFA_NAMES[setting] ?? setting),
        );
      }
    };
    await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, queue.length) }, worker));

    const people = users.map((user): Person => {
      const username = user.Username ?? "";
      const sub = attribute(user.Attributes, "sub") ?? username;
      return {
        email: attribute(user.Attributes, "email") ?? username,
        sub,
        slug: userSlug(sub),
        status: user.UserStatus ?? "UNKNOWN",
        enabled: user.Enabled !== false,
        mfa: mfaOf.get(username) ?? [],
        groups: groupsOf.get(username) ?? [],
        ...(user.UserCreateDate ? { created: user.UserCreateDate } : {}),
      };
    });
    people.sort((a, b) => a.email.localeCompare(b.email));
    return { people, groups };
  }

  async disable(email: string): Promise<void> {
    await this.call("AdminDisableUser", email, () =>
      this.client.send(new AdminDisableUserCommand({ UserPoolId: this.pool, Username: email })),
    );
  }

  async enable(email: string): Promise<void> {
    await this.call("AdminEnableUser", email, () =>
      this.client.send(new AdminEnableUserCommand({ UserPoolId: this.pool, Username: email })),
    );
  }

  /** Deletes the person; answers their sub and slug, which name the data they leave behind. */
  async remove(email: string): Promise<{ sub: string; slug: string }> {
    const user = await this.get(email, "AdminGetUser");
    await this.call("AdminDeleteUser", email, () =>
      this.client.send(new AdminDeleteUserCommand({ UserPoolId: this.pool, Username: email })),
    );
    return { sub: user.sub, slug: userSlug(user.sub) };
  }

  /**
   * Turns the person's TOTP off so that they can sign in without their lost authenticator. Cognito allows this
   * only where MFA is optional: in a pool that requires MFA (this project's default) an administrator cannot turn
   * TOTP off for anyone, and no API deletes a registered authenticator.
   */
  async resetMfa(email: string): Promise<ResetMfaResult> {
    const config = await this.call("GetUserPoolMfaConfig", undefined, () =>
      this.client.send(new GetUserPoolMfaConfigCommand({ UserPoolId: this.pool })),
    );
    const user = await this.get(email, "AdminGetUser");
    const mode = config.MfaConfiguration ?? "OFF";
    if (mode === "OFF") throw new UsageError(`MFA is off in user pool ${this.pool}: ${email} has no second factor to reset`);
    if (mode === "ON") {
      throw new UsageError(
        `user pool ${this.pool} requires MFA, and Cognito lets no administrator turn off or replace a person's ` +
          `authenticator there (AdminSetUserMFAPreference cannot disable TOTP when MFA is required). ${email} can ` +
          `restore the authenticator app from its backup; otherwise remove them and add them again: they start ` +
          `with a new identity and empty conversations and workspace (docs/operations.md, "Lost authenticator")`,
      );
    }
    if (!user.mfa.includes("SOFTWARE_TOKEN_MFA")) return { kind: "nothing-registered", email };
    await this.call("AdminSetUserMFAPreference", email, () =>
      this.client.send(
        new AdminSetUserMFAPreferenceCommand({
          UserPoolId: this.pool,
          Username: email,
          SoftwareTokenMfaSettings: { Enabled: false, PreferredMfa: false },
        }),
      ),
    );
    return { kind: "reset", email };
  }

  private get pool(): string {
    return this.target.userPoolId;
  }

  private async get(email: string, operation: string): Promise<{ sub: string; status: string; mfa: readonly string[] }> {
    const user = await this.call(operation, email, () =>
      this.client.send(new AdminGetUserCommand({ UserPoolId: this.pool, Username: email })),
    );
    return {
      sub: attribute(user.UserAttributes, "sub") ?? user.Username ?? "",
      status: user.UserStatus ?? "UNKNOWN",
      mfa: user.UserMFASettingList ?? [],
    };
  }

  private async call<T>(operation: string, email: string | undefined, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw explainAwsError(error, { operation, userPoolId: this.pool, region: this.target.region, ...(email ? { email } : {}) });
    }
  }
}

function attribute(attributes: readonly AttributeType[] | undefined, name: string): string | undefined {
  return attributes?.find((entry) => entry.Name === name)?.Value;
}
