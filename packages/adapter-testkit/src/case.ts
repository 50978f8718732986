import type { CaseContext } from "./case-context.js";
import type { ResolvedFeatures } from "./options.js";

/** How a case is written: the suite's building block (internal; users see {@link ConformanceCase}). */
export interface CaseDefinition {
  /** Stable id, `group.name`, e.g. `"cursor.limit-one"`. */
  readonly id: string;
  /** What the case checks, in the words of the contract. */
  readonly title: string;
  /** Why the case cannot apply to these features, or `undefined` when it does. */
  readonly skip?: (features: ResolvedFeatures) => string | undefined;
  /** The checks; throws (an assertion error) on the first violation. */
  readonly run: (context: CaseContext) => Promise<void>;
}

/** How a case ended when it did not fail: passed (`skipped` undefined) or not applicable. */
export interface CaseOutcome {
  /** Why the case does not apply to the adapter's capabilities; `undefined` when it ran and passed. */
  readonly skipped?: string;
}

/** One conformance case, ready to run against the adapter given to {@link conformanceCases}. */
export interface ConformanceCase {
  /** Stable id, `group.name`, e.g. `"cursor.limit-one"`. */
  readonly id: string;
  /** What the case checks. */
  readonly title: string;
  /**
   * Runs the case in a fresh namespace with fresh adapters, and cleans up after it. It first reads the
   * adapter's capabilities (checking them); a case that does not apply to them resolves
   * `{ skipped: reason }` without running. Resolves `{}` when the adapter conforms; rejects with the
   * first violation otherwise.
   */
  run(): Promise<CaseOutcome>;
}

/** Skip reason for cases that need read-back. */
export function needsReadable(features: ResolvedFeatures): string | undefined {
  return features.readable ? undefined : "the adapter is not readable (capabilities.readable false)";
}
