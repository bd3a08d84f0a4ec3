import type { CloudFrontRequestHandler } from "aws-lambda";

export const handler: CloudFrontRequestHandler = async () => ({
  status: "503",
  statusDescription: "Service Unavailable",
  body: "not configured",
});
