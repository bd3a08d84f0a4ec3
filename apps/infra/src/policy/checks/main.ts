import type { PolicyCheck } from "../types";
import { COMPUTE_CHECKS } from "./compute";
import { DATABASE_CHECKS } from "./database";
import { IAM_CHECKS } from "./iam";
import { LOAD_BALANCING_CHECKS } from "./load-balancing";
import { NETWORK_CHECKS } from "./network";
import { OBSERVABILITY_CHECKS } from "./observability";
import { SECRET_CHECKS } from "./secrets";
import { STORAGE_CHECKS } from "./storage";

/** Checks of the main-region stacks (network, data, compute, monitoring). */
export const MAIN_CHECKS: readonly PolicyCheck[] = [
  ...STORAGE_CHECKS,
  ...LOAD_BALANCING_CHECKS,
  ...COMPUTE_CHECKS,
  ...DATABASE_CHECKS,
  ...IAM_CHECKS,
  ...NETWORK_CHECKS,
  ...OBSERVABILITY_CHECKS,
  ...SECRET_CHECKS,
];
