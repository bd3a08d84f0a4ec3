/** A contract stand-in of the Amazon ECS API whose tasks are real Docker containers (see README.md). */
export { AwsServiceError } from "./aws-protocol";
export { EFS_API_PREFIX, EfsApi, type EfsOperation } from "./efs-api";
export { EcsError, type EcsErrorType } from "./errors";
export { IamApi, type IamOperation } from "./iam-api";
export { type Decision, evaluatePolicy, evaluateRole, type PolicyRequest } from "./iam-policy";
export { SECRETS_TARGET_PREFIX, SecretsManagerApi, type SecretsOperation } from "./secrets-api";
export { CONTENT_TYPE, EcsStandIn, type EcsStandInOptions, type Operation, TARGET_PREFIX } from "./standin";
export { LABEL, type LastStatus, type Subnet } from "./tasks";
export type { AccessPoint, EfsStandIn, TaskRoleAuthority } from "./task-resources";
