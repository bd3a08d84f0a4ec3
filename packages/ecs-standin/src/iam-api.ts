/**
 * The IAM API's role operations (query protocol: `POST /` with a form body `Action=<Op>&Version=2010-05-08&...`, XML
 * answers), written from the IAM API reference pages API_CreateRole, API_GetRole, API_DeleteRole, API_PutRolePolicy,
 * API_GetRolePolicy, API_DeleteRolePolicy, API_ListRolePolicies, API_Role, API_PermissionsBoundaryDetails and their
 * "Errors" sections, and "Common Errors". Roles made here are the ones ECS tasks assume: the stand-in checks a task
 * role's trust policy before its containers start and evaluates its inline policies and permissions boundary for each
 * IAM-authorised EFS mount (iam-policy.ts), so a role allowed to mount one access point cannot mount another.
 *
 * Managed policies are not created through this API; the test names the ones that exist (a permissions boundary must
 * be one of them, as IAM refuses a boundary ARN it does not know).
 */
import { randomUUID } from "node:crypto";
import { AwsServiceError, FaultQueue, type HttpAnswer, randomId } from "./aws-protocol";
import { type Decision, evaluateRole, type PolicyRequest, statementsOf } from "./iam-policy";

const NAMESPACE = "https://iam.amazonaws.com/doc/2010-05-08/";
const NAME = /^[\w+=,.@-]+$/;
const PATH = /^(\/|\/[\u0021-\u007E]+\/)$/;
/** IAM quota: the inline policies of one role hold at most 10,240 characters (whitespace not counted). */
const INLINE_POLICY_CHARACTERS = 10_240;

export type IamOperation =
  | "CreateRole"
  | "GetRole"
  | "DeleteRole"
  | "PutRolePolicy"
  | "GetRolePolicy"
  | "DeleteRolePolicy"
  | "ListRolePolicies";

const OPERATIONS: readonly string[] = [
  "CreateRole",
  "GetRole",
  "DeleteRole",
  "PutRolePolicy",
  "GetRolePolicy",
  "DeleteRolePolicy",
  "ListRolePolicies",
];

export interface IamApiSetting {
  readonly accountId: string;
  /** Managed policies that exist (ARN to document): the permissions boundaries roles may name. */
  readonly policies: Readonly<Record<string, string>>;
  /**
   * IAM is eventually consistent ("Changes that I make are not always immediately visible", IAM User Guide,
   * troubleshooting): for this long after CreateRole, ECS cannot assume the role yet and a task given it fails to
   * start. @default 0
   */
  readonly propagationMs?: number;
}

interface Role {
  readonly name: string;
  readonly path: string;
  readonly id: string;
  readonly arn: string;
  readonly createDate: string;
  readonly trustPolicy: string;
  readonly description?: string;
  readonly maxSessionDuration: number;
  readonly boundaryArn?: string;
  readonly tags: { Key: string; Value: string }[];
  readonly inlinePolicies: Map<string, string>;
  /** When CreateRole made it (epoch ms; CreateDate has whole seconds only). */
  readonly createdMs: number;
}

const validation = (message: string) => new AwsServiceError("ValidationError", message, 400);
const noSuchEntity = (message: string) => new AwsServiceError("NoSuchEntity", message, 404);
const malformed = (message: string) => new AwsServiceError("MalformedPolicyDocument", message, 400);

function xmlEscape(value: string): string {
  return value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;");
}

function element(name: string, value: string | undefined): string {
  return value === undefined ? "" : `<${name}>${xmlEscape(value)}</${name}>`;
}

/** IAM hands policy documents back URL-encoded (RFC 3986), in GetRole, CreateRole and GetRolePolicy alike. */
const encodeDocument = (document: string) => encodeURIComponent(document);

export class IamApi {
  private readonly roles = new Map<string, Role>();
  private readonly faults = new FaultQueue();

  constructor(private readonly setting: IamApiSetting) {}

  static isOperation(action: string): action is IamOperation {
    return OPERATIONS.includes(action);
  }

  /** The next call of `operation` answers this error (Throttling: 400, as IAM sends it; ServiceFailure: 500). */
  failNext(operation: IamOperation, code: string, message?: string): void {
    const status = code === "ServiceFailure" ? 500 : code === "AccessDenied" ? 403 : 400;
    this.faults.push(operation, { code, message: message ?? `${code} injected by the test`, status });
  }

  /** A role as the store holds it (name, path, ARN, boundary, trust policy, inline policies), for tests' assertions. */
  role(
    name: string,
  ): { arn: string; path: string; boundaryArn?: string; trustPolicy: string; inlinePolicies: Record<string, string> } | undefined {
    const role = this.find(name);
    return role
      ? {
          arn: role.arn,
          path: role.path,
          ...(role.boundaryArn ? { boundaryArn: role.boundaryArn } : {}),
          trustPolicy: role.trustPolicy,
          inlinePolicies: Object.fromEntries(role.inlinePolicies),
        }
      : undefined;
  }

  handle(params: URLSearchParams): HttpAnswer {
    const action = params.get("Action") ?? "";
    try {
      if (!IamApi.isOperation(action)) {
        throw new AwsServiceError("InvalidAction", `Could not find operation ${action} for version 2010-05-08`, 400);
      }
      this.faults.take(action);
      return this.answer(action, this.operate(action, params));
    } catch (error) {
      if (!(error instanceof AwsServiceError)) throw error;
      return iamError(error);
    }
  }

  /**
   * Whether ECS may assume `roleArn` for a task: the role exists and its trust policy allows ecs-tasks.amazonaws.com
   * `sts:AssumeRole` under the context ECS gives (aws:SourceAccount, aws:SourceArn = the task's ARN).
   */
  ecsMayAssume(roleArn: string, taskArn: string, placedAtMs = Date.now()): boolean {
    const role = [...this.roles.values()].find((item) => item.arn === roleArn);
    if (!role) return false;
    // A role ECS did not see yet when it placed the task (IAM propagation) cannot be assumed either.
    if (placedAtMs - role.createdMs < (this.setting.propagationMs ?? 0)) return false;
    const request: PolicyRequest = {
      action: "sts:AssumeRole",
      resource: role.arn,
      servicePrincipal: "ecs-tasks.amazonaws.com",
      context: { "aws:sourceaccount": this.setting.accountId, "aws:sourcearn": taskArn },
    };
    return evaluateRole([role.trustPolicy], undefined, request) === "allow";
  }

  /** The verdict on `action` by the role `roleArn` (a role this API does not hold is denied). */
  decide(roleArn: string, action: string, resource: string, context: Record<string, string>): Decision {
    const role = [...this.roles.values()].find((item) => item.arn === roleArn);
    if (!role) return "implicit-deny";
    const boundary = role.boundaryArn ? this.setting.policies[role.boundaryArn] : undefined;
    const lowered = Object.fromEntries(Object.entries(context).map(([key, value]) => [key.toLowerCase(), value]));
    return evaluateRole([...role.inlinePolicies.values()], boundary, { action, resource, context: lowered });
  }

  private find(name: string): Role | undefined {
    // Role names are unique without regard to case (API_CreateRole: "Role names are not distinguished by case").
    return this.roles.get(name.toLowerCase());
  }

  private roleNamed(params: URLSearchParams): Role {
    const name = this.name(params, "RoleName", 64);
    const role = this.find(name);
    if (!role) throw noSuchEntity(`The role with name ${name} cannot be found.`);
    return role;
  }

  private name(params: URLSearchParams, member: string, max: number): string {
    const value = params.get(member);
    if (value === null || value === "")
      throw validation(`1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`);
    if (value.length > max || !NAME.test(value)) {
      throw validation(
        `1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: ` +
          `Member must have length less than or equal to ${max} and satisfy regular expression pattern: [\\w+=,.@-]+`,
      );
    }
    return value;
  }

  private operate(action: IamOperation, params: URLSearchParams): string {
    switch (action) {
      case "CreateRole":
        return this.roleXml(this.create(params));
      case "GetRole":
        return this.roleXml(this.roleNamed(params));
      case "DeleteRole": {
        const role = this.roleNamed(params);
        if (role.inlinePolicies.size > 0) {
          throw new AwsServiceError("DeleteConflict", "Cannot delete entity, must delete policies first.", 409);
        }
        this.roles.delete(role.name.toLowerCase());
        return "";
      }
      case "PutRolePolicy": {
        const role = this.roleNamed(params);
        const policyName = this.name(params, "PolicyName", 128);
        const document = this.identityPolicy(params.get("PolicyDocument"));
        const others = [...role.inlinePolicies].filter(([name]) => name !== policyName).map(([, text]) => text);
        const size = [...others, document].join("").replace(/\s/g, "").length;
        if (size > INLINE_POLICY_CHARACTERS) {
          throw new AwsServiceError(
            "LimitExceeded",
            `Maximum policy size of ${INLINE_POLICY_CHARACTERS} bytes exceeded for role ${role.name}`,
            409,
          );
        }
        role.inlinePolicies.set(policyName, document);
        return "";
      }
      case "GetRolePolicy": {
        const role = this.roleNamed(params);
        const policyName = this.name(params, "PolicyName", 128);
        const document = role.inlinePolicies.get(policyName);
        if (document === undefined) throw noSuchEntity(`The role policy with name ${policyName} cannot be found.`);
        return element("RoleName", role.name) + element("PolicyName", policyName) + element("PolicyDocument", encodeDocument(document));
      }
      case "DeleteRolePolicy": {
        const role = this.roleNamed(params);
        const policyName = this.name(params, "PolicyName", 128);
        if (!role.inlinePolicies.delete(policyName)) throw noSuchEntity(`The role policy with name ${policyName} cannot be found.`);
        return "";
      }
      case "ListRolePolicies": {
        const role = this.roleNamed(params);
        const maxItems = params.has("MaxItems") ? Number(params.get("MaxItems")) : 100;
        if (!Number.isInteger(maxItems) || maxItems < 1 || maxItems > 1000) throw validation("MaxItems must be an integer from 1 to 1000.");
        const names = [...role.inlinePolicies.keys()].sort();
        const marker = params.get("Marker");
        const start = marker ? names.findIndex((name) => name > marker) : 0;
        const page = start < 0 ? [] : names.slice(start, start + maxItems);
        const truncated = start >= 0 && start + maxItems < names.length;
        return (
          `<PolicyNames>${page.map((name) => element("member", name)).join("")}</PolicyNames>` +
          element("IsTruncated", String(truncated)) +
          (truncated ? element("Marker", page[page.length - 1]) : "")
        );
      }
    }
  }

  private create(params: URLSearchParams): Role {
    const name = this.name(params, "RoleName", 64);
    const path = params.get("Path") ?? "/";
    if (path.length > 512 || !PATH.test(path)) {
      throw validation(
        `1 validation error detected: Value '${path}' at 'path' failed to satisfy constraint: ` +
          "Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)",
      );
    }
    const trust = params.get("AssumeRolePolicyDocument");
    if (!trust)
      throw validation(
        "1 validation error detected: Value null at 'assumeRolePolicyDocument' failed to satisfy constraint: Member must not be null",
      );
    const trustPolicy = this.trustPolicy(trust);
    const description = params.get("Description") ?? undefined;
    if (description !== undefined && description.length > 1000) throw validation("Description: at most 1000 characters.");
    const maxSessionDuration = params.has("MaxSessionDuration") ? Number(params.get("MaxSessionDuration")) : 3600;
    if (!Number.isInteger(maxSessionDuration) || maxSessionDuration < 3600 || maxSessionDuration > 43200) {
      throw validation("MaxSessionDuration must be from 3600 to 43200 seconds.");
    }
    const boundaryArn = params.get("PermissionsBoundary") ?? undefined;
    if (boundaryArn !== undefined && !(boundaryArn in this.setting.policies)) {
      throw noSuchEntity(`Policy ${boundaryArn} does not exist or is not attachable.`);
    }
    const tags: { Key: string; Value: string }[] = [];
    for (let n = 1; params.has(`Tags.member.${n}.Key`); n++) {
      tags.push({ Key: params.get(`Tags.member.${n}.Key`) ?? "", Value: params.get(`Tags.member.${n}.Value`) ?? "" });
    }
    if (tags.length > 50) throw new AwsServiceError("LimitExceeded", "A role can have at most 50 tags.", 409);
    if (this.find(name)) throw new AwsServiceError("EntityAlreadyExists", `Role with name ${name} already exists.`, 409);
    const role: Role = {
      name,
      path,
      id: `AROA${randomId("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 17)}`,
      arn: `arn:aws:iam::${this.setting.accountId}:role${path}${name}`,
      createDate: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
      trustPolicy,
      ...(description !== undefined ? { description } : {}),
      maxSessionDuration,
      ...(boundaryArn ? { boundaryArn } : {}),
      tags,
      inlinePolicies: new Map(),
      createdMs: Date.now(),
    };
    this.roles.set(name.toLowerCase(), role);
    return role;
  }

  /** A trust policy: JSON with statements that each name a Principal (API_CreateRole, MalformedPolicyDocument). */
  private trustPolicy(document: string): string {
    this.parseDocument(document);
    for (const statement of statementsOf(document)) {
      if (statement.Principal === undefined)
        throw malformed("Has prohibited field Resource or lacks Principal in a trust policy statement.");
      if (statement.Resource !== undefined) throw malformed("Has prohibited field Resource");
      if (statement.Effect !== "Allow" && statement.Effect !== "Deny") throw malformed("Effect must be Allow or Deny.");
    }
    return document;
  }

  /** An identity policy: JSON, statements with Effect, Action and Resource, and no Principal. */
  private identityPolicy(document: string | null): string {
    if (!document)
      throw validation("1 validation error detected: Value null at 'policyDocument' failed to satisfy constraint: Member must not be null");
    this.parseDocument(document);
    for (const statement of statementsOf(document)) {
      if (statement.Principal !== undefined) throw malformed("Policy document should not specify a principal.");
      if (statement.Effect !== "Allow" && statement.Effect !== "Deny") throw malformed("Effect must be Allow or Deny.");
      if (statement.Action === undefined && statement.NotAction === undefined) throw malformed("Policy statement must contain actions.");
      if (statement.Resource === undefined && statement.NotResource === undefined)
        throw malformed("Policy statement must contain resources.");
    }
    return document;
  }

  private parseDocument(document: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(document);
    } catch {
      throw malformed("This policy contains invalid Json");
    }
    const statement = (parsed as { Statement?: unknown } | null)?.Statement;
    if (typeof parsed !== "object" || parsed === null || statement === undefined || statementsOf(document).length === 0) {
      throw malformed("Syntax errors in policy.");
    }
  }

  private roleXml(role: Role): string {
    const boundary = role.boundaryArn
      ? "<PermissionsBoundary>" +
        element("PermissionsBoundaryType", "Policy") +
        element("PermissionsBoundaryArn", role.boundaryArn) +
        "</PermissionsBoundary>"
      : "";
    const tags = role.tags.length
      ? `<Tags>${role.tags.map((tag) => `<member>${element("Key", tag.Key)}${element("Value", tag.Value)}</member>`).join("")}</Tags>`
      : "";
    return (
      "<Role>" +
      element("Path", role.path) +
      element("RoleName", role.name) +
      element("RoleId", role.id) +
      element("Arn", role.arn) +
      element("CreateDate", role.createDate) +
      element("AssumeRolePolicyDocument", encodeDocument(role.trustPolicy)) +
      element("Description", role.description) +
      element("MaxSessionDuration", String(role.maxSessionDuration)) +
      boundary +
      tags +
      "</Role>"
    );
  }

  private answer(action: IamOperation, result: string): HttpAnswer {
    const requestId = randomUUID();
    const inner = result ? `<${action}Result>${result}</${action}Result>` : "";
    return {
      status: 200,
      contentType: "text/xml",
      body:
        `<${action}Response xmlns="${NAMESPACE}">${inner}` +
        `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`,
    };
  }
}

/** IAM's error answer (Common Errors): `<ErrorResponse><Error><Type>Sender</Type><Code>...` with the HTTP status. */
export function iamError(error: AwsServiceError): HttpAnswer {
  const type = error.status >= 500 ? "Receiver" : "Sender";
  return {
    status: error.status,
    contentType: "text/xml",
    body:
      `<ErrorResponse xmlns="${NAMESPACE}"><Error>${element("Type", type)}${element("Code", error.code)}` +
      `${element("Message", error.message)}</Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
  };
}
