export { runUsersCli, peopleTable, type CliIo } from "./users/cli";
export { PoolPeople, type Person, type PeopleList, type AddMode, type AddResult, type ResetMfaResult } from "./users/people";
export { resolveUserPool, poolIdFromOutputs, AUTH_STACK_REGION, USER_POOL_OUTPUT, type UserPoolTarget } from "./users/user-pool";
export { parseEmail } from "./users/email";
export { temporaryPassword } from "./users/temporary-password";
/** The user key of docs/CONTRACTS.md: it names a person's containers, database and EFS directory. */
export { userSlug } from "@openhands-team/contracts";
export { EXIT, UsageError, AwsFailure, explainAwsError } from "./users/errors";
export { runUsageCli } from "./usage/cli";
export { summarise, usageRecord, usageTable, type UsageRow } from "./usage/report";
export { filterLogEvents, type AwsCredentials } from "./usage/cloudwatch-logs";
