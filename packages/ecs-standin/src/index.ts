/** A contract stand-in of the Amazon ECS API whose tasks are real Docker containers (see README.md). */
export { EcsError, type EcsErrorType } from "./errors";
export { CONTENT_TYPE, EcsStandIn, type EcsStandInOptions, type Operation, TARGET_PREFIX } from "./standin";
export { LABEL, type LastStatus, type Subnet } from "./tasks";
export type { AccessPoint, EfsStandIn } from "./task-resources";
