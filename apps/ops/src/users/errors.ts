/** Exit codes of `pnpm users`: 0 done, 1 AWS (or the network) failed, 2 the request itself was wrong. */
export const EXIT = { ok: 0, awsFailure: 1, usage: 2 } as const;

/** A request this command refuses before or instead of calling AWS: bad arguments, bad e-mail, unknown person. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  readonly exitCode = EXIT.usage;
}

/** AWS answered with a failure that is not about the request (credentials, permissions, throttling, network). */
export class AwsFailure extends Error {
  override readonly name = "AwsFailure";
  readonly exitCode = EXIT.awsFailure;
}

/** What the command was doing when AWS answered, for messages that name the person and the pool. */
export interface FailureContext {
  readonly operation: string;
  readonly userPoolId: string;
  readonly region: string;
  readonly email?: string;
}

/**
 * Turns an error from the AWS SDK into a message an operator can act on. Only the error's name and message are
 * used: never the request or the raw response, which may carry a password the operator did not ask to see.
 */
export function explainAwsError(error: unknown, context: FailureContext): UsageError | AwsFailure {
  const name = (error as { name?: unknown })?.name;
  const message = String((error as { message?: unknown })?.message ?? error).split("\n")[0] ?? "";
  const who = context.email ? `${context.email}` : "";
  switch (name) {
    case "CredentialsProviderError":
      return new AwsFailure(
        "no AWS credentials found: set AWS_PROFILE (after `aws sso login` or with keys in ~/.aws), or " +
          "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; the caller needs the cognito-idp:Admin* actions on the user pool",
      );
    case "UserNotFoundException":
      return new UsageError(`no user ${who} in user pool ${context.userPoolId} (\`pnpm users list\` shows everyone)`);
    case "UsernameExistsException":
    case "AliasExistsException":
      return new UsageError(`${who} is already in user pool ${context.userPoolId} (\`pnpm users list\` shows their state)`);
    case "ResourceNotFoundException":
      return new UsageError(
        `user pool ${context.userPoolId} not found in ${context.region}: check --user-pool-id (or the auth stack's ` +
          `user_pool_id output), --region, and that the credentials are for the account that holds the pool (${message})`,
      );
    case "InvalidParameterException":
    case "InvalidPasswordException":
      return new UsageError(`Cognito refused ${context.operation}${who ? ` for ${who}` : ""}: ${message}`);
    case "NotAuthorizedException":
    case "AccessDeniedException":
    case "UnrecognizedClientException":
    case "InvalidSignatureException":
    case "ExpiredTokenException":
      return new AwsFailure(
        `AWS refused ${context.operation} (${name}): ${message}. The credentials need cognito-idp:${context.operation} ` +
          `on the user pool ${context.userPoolId}`,
      );
    case "TooManyRequestsException":
    case "LimitExceededException":
      return new AwsFailure(`Cognito is throttling ${context.operation} (${name}): try again in a minute`);
    default:
      break;
  }
  const code = (error as { code?: unknown })?.code;
  if (typeof code === "string" && /^(ECONNREFUSED|ENOTFOUND|ETIMEDOUT|ECONNRESET|EAI_AGAIN)$/.test(code)) {
    return new AwsFailure(`could not reach Cognito in ${context.region} (${code}): check the network, --region or --endpoint`);
  }
  return new AwsFailure(`${context.operation} failed${who ? ` for ${who}` : ""}: ${typeof name === "string" ? `${name}: ` : ""}${message}`);
}
