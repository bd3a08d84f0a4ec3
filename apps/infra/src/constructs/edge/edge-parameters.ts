import { Construct } from "constructs";
import { SsmParameter } from "@cdktf/provider-aws/lib/ssm-parameter";
import { EDGE_SECRETS_PLACEHOLDER, type EdgeConfig } from "@openhands-team/contracts";

/** `/<name>/<environment>/edge/config` (docs/CONTRACTS.md): the type packages/edge-auth reads, from @openhands-team/contracts. */
export type EdgeConfigDocument = EdgeConfig;

/** What the secrets parameter holds until the host writes the real keys; the edge answers 503 meanwhile. */
export { EDGE_SECRETS_PLACEHOLDER };

export interface EdgeConfigDocumentInput {
  readonly appHost: string;
  readonly runtimeDomain: string;
  readonly region: string;
  readonly userPoolId: string;
  readonly clientId: string;
  /** Host of the Cognito login pages. */
  readonly loginDomain: string;
  readonly scopes: readonly string[];
  /** How long a session lasts at most: the refresh token's lifetime. */
  readonly refreshTokenDays: number;
}

/** The configuration document of the edge functions, derived from the pool, the client and the hosts. */
export function edgeConfigDocument(input: EdgeConfigDocumentInput): EdgeConfigDocument {
  const issuer = `https://cognito-idp.${input.region}.amazonaws.com/${input.userPoolId}`;
  const login = `https://${input.loginDomain}`;
  return {
    version: 1,
    appHost: input.appHost,
    runtimeDomain: input.runtimeDomain,
    issuer,
    jwksUri: `${issuer}/.well-known/jwks.json`,
    userPoolId: input.userPoolId,
    clientId: input.clientId,
    authorizeUrl: `${login}/oauth2/authorize`,
    tokenUrl: `${login}/oauth2/token`,
    logoutUrl: `${login}/logout`,
    scopes: [...input.scopes],
    sessionMaxAgeSeconds: input.refreshTokenDays * 86_400,
  };
}

export interface EdgeParametersProps {
  /** Name of the plain configuration parameter, `/<name>/<environment>/edge/config`. */
  readonly configName: string;
  /** Name of the SecureString parameter with the keys, `/<name>/<environment>/edge/secrets`. */
  readonly secretsName: string;
  readonly config: EdgeConfigDocument;
}

/**
 * The two SSM parameters the edge functions read at cold start (Lambda@Edge has no environment variables).
 *
 * The secrets parameter is created with a placeholder through `value_wo`, a write-only argument: Terraform
 * sends it once and never stores or reads it back, so neither the placeholder nor the keys the host writes
 * later appear in cdktf.out or in state. `ignore_changes` keeps any later plan from writing over the keys.
 */
export class EdgeParameters extends Construct {
  readonly configArn: string;
  readonly configName: string;
  readonly secretsArn: string;
  readonly secretsName: string;

  constructor(scope: Construct, id: string, props: EdgeParametersProps) {
    super(scope, id);
    const config = new SsmParameter(this, "config", {
      name: props.configName,
      description: "OpenHands edge functions: configuration (docs/CONTRACTS.md)",
      type: "String",
      // JSON.stringify keeps the contract's key order; the ids inside are Terraform references.
      value: JSON.stringify(props.config),
    });
    const secrets = new SsmParameter(this, "secrets", {
      name: props.secretsName,
      description: "OpenHands edge functions: signing keys, written by the host on first boot",
      type: "SecureString",
      valueWo: EDGE_SECRETS_PLACEHOLDER,
      valueWoVersion: 1,
      lifecycle: { ignoreChanges: ["value", "value_wo_version"] },
    });
    this.configArn = config.arn;
    this.configName = props.configName;
    this.secretsArn = secrets.arn;
    this.secretsName = props.secretsName;
  }
}
