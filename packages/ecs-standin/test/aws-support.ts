/**
 * Test support for the stand-in's EFS, IAM and Secrets Manager APIs: raw calls in each API's protocol, as an AWS SDK
 * sends them (REST-JSON, query protocol with XML answers, JSON 1.1), minus the signature's value.
 */
const AUTHORIZATION =
  "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261202/eu-central-1/svc/aws4_request, SignedHeaders=host;x-amz-date, Signature=00";

export async function efsCall(
  endpoint: string,
  method: string,
  path: string,
  body?: unknown,
  signed = true,
): Promise<{ status: number; type: string | null; body: any }> {
  const res = await fetch(`${endpoint}/2015-02-01/${path}`, {
    method,
    headers: { "content-type": "application/json", ...(signed ? { authorization: AUTHORIZATION } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, type: res.headers.get("x-amzn-errortype"), body: text ? JSON.parse(text) : undefined };
}

export async function iamCall(endpoint: string, params: Record<string, string>): Promise<{ status: number; xml: string; code?: string }> {
  const res = await fetch(`${endpoint}/`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded; charset=utf-8", authorization: AUTHORIZATION },
    body: new URLSearchParams({ Version: "2010-05-08", ...params }).toString(),
  });
  const xml = await res.text();
  return { status: res.status, xml, code: /<Code>([^<]+)<\/Code>/.exec(xml)?.[1] };
}

/** The text of the first `<name>` element of an XML answer. */
export const xmlText = (xml: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];

export async function secretsCall(endpoint: string, operation: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${endpoint}/`, {
    method: "POST",
    headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": `secretsmanager.${operation}`, authorization: AUTHORIZATION },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

/** A trust policy admitting ECS tasks of `account`. */
export const ecsTasksTrust = (account = "123456789012") =>
  JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Service: "ecs-tasks.amazonaws.com" },
        Action: "sts:AssumeRole",
        Condition: { StringEquals: { "aws:SourceAccount": account } },
      },
    ],
  });

/** An inline policy allowing `actions` on the file system through one access point. */
export const mountPolicy = (
  fileSystemArn: string,
  accessPointArn: string,
  actions = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
) =>
  JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Action: actions,
        Resource: fileSystemArn,
        Condition: { StringEquals: { "elasticfilesystem:AccessPointArn": accessPointArn } },
      },
    ],
  });
