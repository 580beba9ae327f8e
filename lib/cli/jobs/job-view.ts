import type { JobStatus } from '../../jobs/contract';

/** Where a running job is: the node ComfyUI executes, its sampler step, nodes done of the prompt's nodes. */
export interface JobProgress {
  readonly node?: string;
  readonly node_type?: string;
  readonly step?: number;
  readonly steps?: number;
  readonly nodes_done?: number;
  readonly nodes_total?: number;
}

/** One output file in the outputs bucket, with a presigned GET URL (15 minutes) while the job view is fresh. */
export interface JobOutput {
  readonly node?: string;
  readonly filename: string;
  readonly media_type?: string;
  readonly size?: number;
  readonly content_type?: string;
  readonly key?: string;
  readonly url?: string;
}

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

/** The job view the API answers (docs/jobs.md, "Job view"); fields a pending job lacks are optional. */
export interface JobView {
  readonly id: string;
  readonly owner?: string;
  readonly status: JobStatus;
  readonly create_time?: number;
  readonly execution_start_time?: number | null;
  readonly execution_end_time?: number | null;
  readonly update_time?: number;
  readonly template?: { readonly name: string; readonly version?: number; readonly inputs?: Record<string, unknown> } | null;
  readonly progress?: JobProgress | null;
  readonly worker?: { readonly pod?: string; readonly gpu?: number; readonly prompt_id?: string } | null;
  readonly attempt?: number;
  readonly cancel_requested?: boolean;
  readonly execution_error?: JobExecutionError | null;
  readonly outputs?: JobOutput[] | null;
  readonly webhook_url?: string | null;
  readonly webhook_state?: string | null;
}

/** `GET /jobs` answers one page, newest first; a status filter can leave a page short while more follow. */
export interface JobPage {
  readonly jobs: JobView[];
  readonly next_cursor?: string | null;
}
