/**
 * ECS's error answers. The JSON 1.1 protocol answers an error with its HTTP status and a body
 * `{"__type": "<shape name>", "message": "..."}`; the shape names are the ones the ECS API reference lists per
 * operation (API_RunTask.html "Errors", and the same section of the other operations).
 */
export type EcsErrorType =
  | "ClientException"
  | "InvalidParameterException"
  | "ClusterNotFoundException"
  | "AccessDeniedException"
  | "ThrottlingException"
  | "ServerException"
  | "UnknownOperationException"
  | "SerializationException"
  | "MissingAuthenticationTokenException";

export class EcsError extends Error {
  override name = "EcsError";
  constructor(
    readonly type: EcsErrorType,
    message: string,
  ) {
    super(message);
  }

  /** ServerException is the service's own fault (500); every other error is the caller's (400). */
  get status(): number {
    return this.type === "ServerException" ? 500 : 400;
  }

  body(): { __type: EcsErrorType; message: string } {
    return { __type: this.type, message: this.message };
  }
}

export const clientError = (message: string) => new EcsError("ClientException", message);
export const invalidParameter = (message: string) => new EcsError("InvalidParameterException", message);
