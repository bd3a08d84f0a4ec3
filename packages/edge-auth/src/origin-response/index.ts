import type { CloudFrontResponseHandler } from "aws-lambda";

export const handler: CloudFrontResponseHandler = async (event) => event.Records[0]!.cf.response;
