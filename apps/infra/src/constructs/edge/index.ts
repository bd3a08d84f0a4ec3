/** Constructs of the us-east-1 stacks: Cognito, certificates and DNS, WAF, Lambda@Edge, CloudFront. */
export * from "../observability/access-logs";
export * from "./alias-records";
export * from "./dns-validated-certificate";
export * from "./edge-auth-bundle";
export * from "./edge-distribution";
export * from "./edge-functions";
export * from "./edge-parameters";
export * from "./edge-paths";
export * from "./edge-policies";
export * from "../identity/user-directory";
export * from "./vpc-origin";
export * from "./web-acl";
