export { runUsersCli, peopleTable, type CliIo } from "./users/cli";
export { PoolPeople, type Person, type PeopleList, type AddMode, type AddResult, type ResetMfaResult } from "./users/people";
export { resolveUserPool, poolIdFromOutputs, AUTH_STACK_REGION, USER_POOL_OUTPUT, type UserPoolTarget } from "./users/user-pool";
export { parseEmail } from "./users/email";
export { temporaryPassword } from "./users/temporary-password";
export { userSlug } from "./users/user-slug";
export { EXIT, UsageError, AwsFailure, explainAwsError } from "./users/errors";
