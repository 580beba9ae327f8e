/** What `comfyctl doctor` says about one part of the deployment. */
export type DoctorStatus = 'PASS' | 'WARN' | 'FAIL';

export interface CheckVerdict {
  /** Short and stable, for scripts: `stacks`, `addons`, `gpu-nodes`, ... */
  readonly name: string;
  readonly status: DoctorStatus;
  /** What was found, for a person. */
  readonly detail: string;
  /** The next step (WARN and FAIL): a command to run or the thing to fix. */
  readonly next?: string;
}

export const passed = (name: string, detail: string): CheckVerdict => ({ name, status: 'PASS', detail });
export const warned = (name: string, detail: string, next: string): CheckVerdict => ({ name, status: 'WARN', detail, next });
export const failed = (name: string, detail: string, next: string): CheckVerdict => ({ name, status: 'FAIL', detail, next });

/** `FAIL addons: ... Next: ...`: one line per check. */
export function formatVerdictLine(verdict: CheckVerdict): string {
  return `${verdict.status.padEnd(4)} ${verdict.name}: ${verdict.detail}${verdict.next ? `. Next: ${verdict.next}` : ''}`;
}

/** `doctor: 9 passed, 1 warned, 2 failed (addons, edge-request)` */
export function formatVerdictSummary(verdicts: readonly CheckVerdict[]): string {
  const named = (status: DoctorStatus) => verdicts.filter((v) => v.status === status).map((v) => v.name);
  const list = (names: string[]) => (names.length > 0 ? ` (${names.join(', ')})` : '');
  const [pass, warn, fail] = (['PASS', 'WARN', 'FAIL'] as const).map(named);
  return `doctor: ${pass.length} passed, ${warn.length} warned${list(warn)}, ${fail.length} failed${list(fail)}`;
}
