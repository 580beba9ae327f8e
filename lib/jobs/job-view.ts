import type { JobStatus } from './contract';

/** One output file of a job, as the runner records it. */
export interface JobOutput {
  readonly node: string;
  readonly filename: string;
  readonly media_type: string;
  readonly size: number;
  readonly content_type: string;
  readonly key: string;
}

/** The job item's attributes (docs/jobs.md, "DynamoDB items"); the runner adds the execution fields. */
export interface JobItem {
  readonly pk: string;
  readonly id: string;
  readonly owner: string;
  readonly status: JobStatus;
  readonly create_time: number;
  readonly update_time: number;
  readonly execution_start_time?: number;
  readonly execution_end_time?: number;
  readonly workflow_json: string;
  readonly template?: { name: string; version: number; inputs: Record<string, unknown> };
  readonly webhook_url?: string;
  readonly webhook_state?: 'pending' | 'delivered' | 'failed';
  readonly webhook_attempts?: number;
  readonly idempotency_key?: string;
  readonly attempt: number;
  readonly worker?: Record<string, unknown>;
  readonly lease_until?: number;
  readonly cancel_requested?: boolean;
  readonly progress?: Record<string, unknown>;
  readonly execution_error?: Record<string, unknown>;
  readonly outputs?: readonly JobOutput[];
  readonly expires_at?: number;
}

export type JobView = ReturnType<typeof toJobView>;

/**
 * The job as GET answers and webhook bodies show it (docs/jobs.md, "Job view"). `outputUrls` maps output keys to
 * presigned URLs; webhooks pass none, so their bodies never carry a URL that expires.
 */
export function toJobView(item: JobItem, outputUrls?: ReadonlyMap<string, string>) {
  return {
    id: item.id,
    owner: item.owner,
    status: item.status,
    create_time: item.create_time,
    execution_start_time: item.execution_start_time ?? null,
    execution_end_time: item.execution_end_time ?? null,
    update_time: item.update_time,
    template: item.template ?? null,
    progress: item.progress ?? null,
    worker: item.worker ?? null,
    attempt: item.attempt ?? 0,
    cancel_requested: item.cancel_requested === true,
    execution_error: item.execution_error ?? null,
    outputs: (item.outputs ?? []).map((o) => {
      const url = outputUrls?.get(o.key);
      return url === undefined ? { ...o } : { ...o, url };
    }),
    webhook_url: item.webhook_url ?? null,
    webhook_state: item.webhook_state ?? null,
  };
}
