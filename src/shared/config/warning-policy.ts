/**
 * The deadline-warning policy's shape and default, here (below the deadline-alerts domain that applies it) because
 * the configuration reads it from the environment and nothing in shared/ may import a module.
 */

/** Shares of a limit's time (percent, above 0 and below 100) at which a warning is recorded. */
export type WarningThresholds = readonly number[];

export const DEFAULT_WARNING_THRESHOLDS: WarningThresholds = [50, 80];

/** Thresholds by regulation version (first) or service, else the default. */
export interface WarningPolicy {
  default: WarningThresholds;
  byVersion?: Readonly<Record<string, WarningThresholds>>;
  byService?: Readonly<Record<string, WarningThresholds>>;
}

export const DEFAULT_WARNING_POLICY: WarningPolicy = { default: DEFAULT_WARNING_THRESHOLDS };
