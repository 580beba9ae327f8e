import { JOBS } from '../../jobs/contract';
import { JobView } from './job-view';

/** Where the progress bar stands for one job view: nodes done of the prompt's nodes, and what runs now. */
export interface ProgressPosition {
  readonly value: number;
  readonly total: number;
  readonly label: string;
}

/**
 * The bar's position from the job's `progress` (written by the runner at most once a second):
 * `#3 KSampler step 12/20` while a sampler runs, the job's state otherwise. Before the runner knows the
 * prompt's node count the total is 1, so the bar stays empty rather than guessing.
 */
export function progressPosition(job: JobView): ProgressPosition {
  const progress = job.progress ?? {};
  const total = positive(progress.nodes_total) ?? 1;
  const value = job.status === JOBS.status.completed ? total : Math.min(total, Math.max(0, progress.nodes_done ?? 0));
  return { value, total, label: progressLabel(job) };
}

/** A short phrase for the current state, e.g. `pending: waiting for an idle GPU`. */
export function progressLabel(job: JobView): string {
  const cancelling = job.cancel_requested ? ' (cancel requested)' : '';
  if (job.status === JOBS.status.pending) {
    const again = (job.attempt ?? 0) > 0 ? ' again (its runner stopped)' : '';
    return `pending${again}: waiting for an idle GPU${cancelling}`;
  }
  if (job.status !== JOBS.status.inProgress) return job.status;
  const progress = job.progress;
  if (progress?.node === undefined) {
    const where = job.worker?.pod ? ` on ${job.worker.pod}${job.worker.gpu === undefined ? '' : ` GPU ${job.worker.gpu}`}` : '';
    return `started${where}${cancelling}`;
  }
  const node = `#${progress.node}${progress.node_type ? ` ${progress.node_type}` : ''}`;
  const step = positive(progress.steps) ? ` step ${progress.step ?? 0}/${progress.steps}` : '';
  return `${node}${step}${cancelling}`;
}

function positive(n: number | undefined): number | undefined {
  return typeof n === 'number' && n > 0 ? n : undefined;
}
