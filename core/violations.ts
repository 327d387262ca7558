// How a broken integrity rule reads wherever it is shown (reason, tree, audit). Pure: workflow code imports it.
import type { Violation } from './types';

export const describeViolation = (v: Violation) => `${v.rule}: ${v.detail}`;

/** The reason a version excluded by integrity rules carries. */
export const integrityReason = (violations: readonly Violation[]) =>
  `integrity: ${violations.map(describeViolation).join('; ')}`;
