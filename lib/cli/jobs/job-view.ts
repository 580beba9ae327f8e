import type { JobView as ApiJobView, JobOutput as StoredOutput } from '../../jobs/job-view';

/** Where a running job is: the node ComfyUI executes, its sampler step, nodes done of the prompt's nodes. */
export interface JobProgress {
  readonly node?: string;
  readonly node_type?: string;
  readonly step?: number;
  readonly steps?: number;
  readonly nodes_done?: number;
  readonly nodes_total?: number;
}

/** One output file as the runner records it, with a presigned GET URL (15 minutes) while the view is fresh. */
export type JobOutput = Partial<StoredOutput> & { readonly filename: string; readonly url?: string };

/** ComfyUI's execution_error fields, or a prompt ComfyUI refused (`type: prompt_rejected`). */
export interface JobExecutionError {
  readonly type?: string;
  readonly node_id?: string;
  readonly node_type?: string;
  readonly exception_type?: string;
  readonly exception_message?: string;
  readonly traceback?: string[] | string;
  readonly node_errors?: Record<string, unknown>;
}

type Typed = 'id' | 'status' | 'progress' | 'worker' | 'execution_error' | 'outputs';

/**
 * A job view as comfyctl reads it: the API's own (lib/jobs/job-view.ts, docs/jobs.md "Job view"), with the maps
 * the runner writes (progress, worker, execution_error) typed, and every field but id and status optional.
 */
export type JobView = Pick<ApiJobView, 'id' | 'status'> & Partial<Omit<ApiJobView, Typed>> & {
  readonly progress?: JobProgress | null;
  readonly worker?: { readonly pod?: string; readonly gpu?: number; readonly prompt_id?: string } | null;
  readonly execution_error?: JobExecutionError | null;
  readonly outputs?: readonly JobOutput[] | null;
};

/** `GET /jobs` answers one page, newest first; a status filter can leave a page short while more follow. */
export interface JobPage {
  readonly jobs: JobView[];
  readonly next_cursor?: string | null;
}
