/**
 * Reads the LLM gateway's usage records from CloudWatch Logs with the AWS SDK (FilterLogEvents, page after page).
 * Credentials come from the SDK's default chain, as for `pnpm users`: AWS_PROFILE, SSO, environment keys, ...
 */
import { CloudWatchLogsClient, FilterLogEventsCommand, type FilterLogEventsCommandOutput } from "@aws-sdk/client-cloudwatch-logs";
import { AwsFailure, UsageError } from "../users/errors";

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface FilterQuery {
  readonly logGroupName: string;
  readonly startTime: number;
  readonly endTime: number;
  readonly filterPattern: string;
}

export interface LogEvent {
  readonly timestamp: number;
  readonly message: string;
}

export interface LogsReaderOptions {
  readonly region: string;
  /** A CloudWatch Logs-compatible endpoint instead of AWS's (tests). */
  readonly endpoint?: string;
  /** Instead of the SDK's default credential chain (tests). */
  readonly credentials?: () => Promise<AwsCredentials>;
  /** At most this many pages (FilterLogEvents answers up to 10,000 events or 1 MB a page). @default 500 */
  readonly maxPages?: number;
}

/** Every event of the query, page after page (FilterLogEvents' nextToken). */
export async function* filterLogEvents(query: FilterQuery, options: LogsReaderOptions): AsyncGenerator<LogEvent> {
  const client = new CloudWatchLogsClient({
    region: options.region,
    maxAttempts: 3,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
  });
  const maxPages = options.maxPages ?? 500;
  try {
    let nextToken: string | undefined;
    for (let page = 0; page < maxPages; page += 1) {
      let answer: FilterLogEventsCommandOutput;
      try {
        answer = await client.send(new FilterLogEventsCommand({ ...query, ...(nextToken ? { nextToken } : {}) }), {
          abortSignal: AbortSignal.timeout(30_000),
        });
      } catch (error) {
        throw explainLogsError(error as Error & { $metadata?: { httpStatusCode?: number } }, query.logGroupName, options);
      }
      for (const event of answer.events ?? []) {
        if (typeof event.timestamp === "number" && typeof event.message === "string")
          yield { timestamp: event.timestamp, message: event.message };
      }
      nextToken = answer.nextToken;
      if (!nextToken) return;
    }
    throw new UsageError(
      `more than ${maxPages} pages of usage records: ask for a shorter period (--since, --until) or one person (--user)`,
    );
  } finally {
    client.destroy();
  }
}

function explainLogsError(error: Error & { $metadata?: { httpStatusCode?: number } }, group: string, options: LogsReaderOptions): Error {
  const message = error.message.split("\n")[0] ?? "";
  if (error.name === "CredentialsProviderError")
    return new AwsFailure(
      `no AWS credentials found (${message}): set AWS_PROFILE (after \`aws sso login\`) or AWS_ACCESS_KEY_ID and ` +
        "AWS_SECRET_ACCESS_KEY; the caller needs logs:FilterLogEvents on the host log group",
    );
  // No HTTP answer at all: refused, reset, timed out or a name that does not resolve.
  if (error.$metadata?.httpStatusCode === undefined) {
    const where = options.endpoint ?? `logs.${options.region}.amazonaws.com`;
    return new AwsFailure(`could not reach CloudWatch Logs at ${where} (${message}): check the network, --region or --endpoint`);
  }
  switch (error.name) {
    case "ResourceNotFoundException":
      return new UsageError(
        `log group ${group} not found in ${options.region}: check --log-group and --region (the compute stack's log_groups output ` +
          "names it)",
      );
    case "InvalidParameterException":
      return new UsageError(`CloudWatch Logs refused the query: ${message}`);
    case "AccessDeniedException":
    case "UnrecognizedClientException":
    case "InvalidSignatureException":
    case "ExpiredTokenException":
      return new AwsFailure(
        `AWS refused FilterLogEvents (${error.name}): ${message}. The credentials need logs:FilterLogEvents on ${group}`,
      );
    case "ThrottlingException":
      return new AwsFailure("CloudWatch Logs is throttling FilterLogEvents: try again in a minute, or ask for a shorter period");
    default:
      return new AwsFailure(`FilterLogEvents failed with ${error.$metadata.httpStatusCode} ${error.name}${message ? `: ${message}` : ""}`);
  }
}
