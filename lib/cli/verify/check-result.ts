/** The acceptance checks of a multi-GPU node, in the order `comfyctl verify` runs them. */
export const CHECK_NAMES = ['workers', 'bad-header', 'header-routing', 'queue-isolation', 'parallelism', 'ram-sharing', 'throughput'] as const;

export type CheckName = (typeof CHECK_NAMES)[number];

export type CheckStatus = 'PASS' | 'FAIL' | 'SKIP';

/** What one check found, before it is named. */
export interface CheckOutcome {
  readonly status: CheckStatus;
  /** The figures or the reason, for a person. */
  readonly detail: string;
  /** What to check next (FAIL only). */
  readonly hint?: string;
  /** The same figures for machines (`--json`). */
  readonly figures?: Record<string, unknown>;
}

export interface CheckResult extends CheckOutcome {
  readonly name: CheckName;
}

export interface VerifyReport {
  readonly url: string;
  /** GPUs the checks ran against (undefined when they could not be counted). */
  readonly gpus?: number;
  /** True when no check FAILed. */
  readonly passed: boolean;
  readonly checks: readonly CheckResult[];
}

export const pass = (detail: string, figures?: Record<string, unknown>): CheckOutcome => ({ status: 'PASS', detail, figures });
export const fail = (detail: string, hint: string, figures?: Record<string, unknown>): CheckOutcome => ({ status: 'FAIL', detail, hint, figures });
export const skip = (reason: string): CheckOutcome => ({ status: 'SKIP', detail: reason });

/** `PASS workers: 4 queues, ...` / `FAIL parallelism: ... Next: ...`: one line per check. */
export function formatCheckLine(result: CheckResult): string {
  const next = result.hint ? `. Next: ${result.hint}` : '';
  return `${result.status} ${result.name}: ${result.detail}${next}`;
}

/** `verify: 6 passed, 1 failed (parallelism), 0 skipped; 4 GPUs at http://...` */
export function formatSummary(report: VerifyReport): string {
  const named = (status: CheckStatus) => report.checks.filter((c) => c.status === status).map((c) => c.name);
  const failed = named('FAIL');
  const where = `${report.gpus === undefined ? '' : `${report.gpus} GPUs at `}${report.url}`;
  return `verify: ${named('PASS').length} passed, ${failed.length} failed${failed.length ? ` (${failed.join(', ')})` : ''}, ${named('SKIP').length} skipped; ${where}`;
}
