import { JOBS, JobStatus, isTerminal } from './contract';

/**
 * What `POST /jobs/{id}/cancel` does to a job in `status` (docs/jobs.md, "State machine"): a pending job is
 * cancelled at once (the runner's pickup condition then fails), a running one is flagged for its runner to
 * interrupt, a finished one is left alone (409).
 */
export type CancelAction = 'cancel' | 'request_cancel' | 'already_terminal';

export function planCancel(status: JobStatus): CancelAction {
  if (isTerminal(status)) return 'already_terminal';
  return status === JOBS.status.pending ? 'cancel' : 'request_cancel';
}
