import { JOBS, isTerminal } from '../../jobs/contract';
import { CliError, EXIT } from '../cli-error';
import { startProgress } from '../progress';
import { describeExecutionError } from './format-job';
import { progressPosition } from './job-progress';
import { JobView } from './job-view';

export interface WaitOptions {
  readonly jobId: string;
  /** Reads the job's current view (`GET /jobs/{id}`). */
  readonly getJob: () => Promise<JobView>;
  readonly timeoutMs: number;
  /** Between reads; the runner writes progress at most once a second. @default 2000 */
  readonly intervalMs?: number;
  readonly quiet: boolean;
}

/**
 * Reads the job until it is terminal, drawing its progress (nodes done, the running node and its step).
 * Resolves with the completed view; a failed or cancelled job, or the timeout, is a CliError with its own exit
 * code, and a failure carries ComfyUI's error.
 */
export async function waitForJob(options: WaitOptions): Promise<JobView> {
  const deadline = Date.now() + options.timeoutMs;
  let job = await options.getJob();
  // Outside a terminal, a line at every change (each read is seconds apart; repeats are not printed).
  const bar = startProgress({ title: `job ${options.jobId.slice(0, 8)}`, total: progressPosition(job).total, silent: options.quiet, lineIntervalS: 0 });
  try {
    for (;;) {
      const position = progressPosition(job);
      bar.setTotal(position.total);
      bar.update(position.value, position.label);
      if (isTerminal(job.status)) break;
      if (Date.now() >= deadline) {
        throw new CliError(`job ${options.jobId} is still ${job.status} after ${options.timeoutMs / 1000} s; it goes on ` +
          `without you: 'comfyctl jobs wait ${options.jobId}' again later, or 'comfyctl jobs cancel ${options.jobId}'`, EXIT.timeout);
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(options.intervalMs ?? 2000, Math.max(0, deadline - Date.now()))));
      job = await options.getJob();
    }
  } finally {
    bar.stop();
  }
  return finished(job);
}

/** The completed job, or the CliError a failed or cancelled one becomes. */
export function finished(job: JobView): JobView {
  if (job.status === JOBS.status.failed) {
    throw new CliError(`job ${job.id} ${describeExecutionError(job.execution_error) || 'failed (no error recorded)'}`, EXIT.execution);
  }
  if (job.status === JOBS.status.cancelled) throw new CliError(`job ${job.id} was cancelled`, EXIT.execution);
  return job;
}
