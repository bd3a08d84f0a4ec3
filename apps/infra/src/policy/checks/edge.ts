import type { PolicyCheck, PolicySuppression } from "../types";

/** Checks of the us-east-1 stacks (CloudFront, WAF, Cognito, Lambda@Edge, ACM, Route 53). */
export const EDGE_CHECKS: readonly PolicyCheck[] = [];

/** Deliberate exceptions in the us-east-1 stacks, each with its reason. */
export const EDGE_SUPPRESSIONS: readonly PolicySuppression[] = [];
