/**
 * What the EFS, IAM and Secrets Manager stand-ins share: an error carrying the service's error name and HTTP status,
 * the answer they hand back to the one HTTP server, the check that a call is signed, and IAM-style wildcard matching.
 * Each service words its errors in its own protocol (EFS REST-JSON, IAM query XML, Secrets Manager JSON 1.1); the
 * names and statuses are the ones each operation's "Errors" section of its API reference lists.
 */
import { randomInt } from "node:crypto";

/** An error answer: `code` is the error name an AWS SDK turns into the exception's `name`. */
export class AwsServiceError extends Error {
  override name = "AwsServiceError";
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    /** Extra members of the error shape (EFS's AccessPointAlreadyExists carries AccessPointId). */
    readonly extra: Record<string, string> = {},
  ) {
    super(message);
  }
}

export interface HttpAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  readonly headers?: Record<string, string>;
}

/** An operation a test made fail once (throttling, a service fault, access denied). */
export interface InjectedFault {
  readonly code: string;
  readonly message: string;
  readonly status: number;
}

/** Faults queued per operation, each answered once instead of acting. */
export class FaultQueue {
  private readonly queued = new Map<string, InjectedFault[]>();

  push(operation: string, fault: InjectedFault): void {
    this.queued.set(operation, [...(this.queued.get(operation) ?? []), fault]);
  }

  /** Throws the next fault queued for `operation`, if any. */
  take(operation: string): void {
    const fault = this.queued.get(operation)?.shift();
    if (fault) throw new AwsServiceError(fault.code, fault.message, fault.status);
  }
}

/**
 * AWS refuses unsigned calls before anything else. The stand-ins check that a Signature Version 4 header is there;
 * they cannot check the signature itself, having no credentials to check it against.
 */
export function isSigned(authorization: string | string[] | undefined): boolean {
  return String(authorization ?? "").startsWith("AWS4-HMAC-SHA256 ");
}

/** IAM's wildcard match (`*` any run of characters, `?` one character), as policies use it for actions and ARNs. */
export function wildcardMatch(pattern: string, value: string, ignoreCase = false): boolean {
  const source = pattern
    .split("")
    .map((char) => (char === "*" ? ".*" : char === "?" ? "." : char.replace(/[.+^${}()|[\]\\/-]/g, "\\$&")))
    .join("");
  return new RegExp(`^${source}$`, ignoreCase ? "is" : "s").test(value);
}

/** The random part of an ID: `length` characters of `alphabet`. */
export function randomId(alphabet: string, length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}
