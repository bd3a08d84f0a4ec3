/**
 * The policy suite: named checks over synthesized Terraform JSON, in the spirit of checkov and trivy.
 * Each check looks at one resource type; a suppression must carry a written justification.
 */

export type TerraformJson = Record<string, any>;

/** One resource of a synthesized stack, with everything a check may need to look at its neighbours. */
export interface PolicyResource {
  readonly stack: string;
  readonly type: string;
  readonly name: string;
  readonly body: TerraformJson;
  /** The whole stack's Terraform JSON (to follow references to other resources). */
  readonly stackJson: TerraformJson;
}

export interface PolicyCheck {
  /** Stable id, such as `OHT_S3_001`. */
  readonly id: string;
  /** What the check demands, in one line. */
  readonly title: string;
  /** The Terraform resource types it applies to. */
  readonly resourceTypes: readonly string[];
  /** Returns undefined when the resource passes, or why it fails. */
  evaluate(resource: PolicyResource): string | undefined;
}

/** A deliberate exception, with the reason written down. */
export interface PolicySuppression {
  readonly checkId: string;
  /** `<stack>.<type>.<name>`, or `*` for every resource of the check. */
  readonly resource: string;
  readonly justification: string;
  /** Only resources carrying this tag (key and value) are suppressed; for exceptions that depend on the configuration. */
  readonly onlyTagged?: { readonly key: string; readonly value: string };
}
