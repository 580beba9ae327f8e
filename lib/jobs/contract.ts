import contract from '../../comfyui_image/jobs_contract.json';

/**
 * The names the jobs API, the job runner in each GPU pod and the CDK jobs stack share, read from the one file the
 * runner reads too (comfyui_image/jobs_contract.json; docs/jobs.md explains each).
 */
export const JOBS = contract;

/** A job's status; ComfyUI's own jobs API (comfy_execution/jobs.py) names the first four. */
export type JobStatus = (typeof contract.status)[keyof typeof contract.status];

export const JOB_STATUSES: readonly JobStatus[] = Object.values(contract.status) as JobStatus[];

export const TERMINAL_STATUSES: readonly JobStatus[] = contract.terminalStatuses as JobStatus[];

export function isTerminal(status: string): boolean {
  return (TERMINAL_STATUSES as readonly string[]).includes(status);
}

/** `/render-api/v1`: no route of the pinned ComfyUI uses it (ComfyUI serves /api/jobs and /templates). */
export const JOBS_API_PREFIX = contract.apiPrefix;

/** The CloudFront path pattern of the jobs API's behaviour: everything under the prefix's first segment. */
export const JOBS_API_PATH_PATTERN = `/${contract.apiPrefix.split('/')[1]}/*`;

/** Set by the edge authentication function to the user it verified; never taken from the client. */
export const IDENTITY_HEADER = contract.identityHeader;

export function jobKey(id: string): string {
  return `${contract.table.jobKeyPrefix}${id}`;
}

/** Where a job's outputs land in the outputs bucket: per user, per job. */
export function jobOutputsPrefix(owner: string, jobId: string): string {
  return `${contract.outputsKeyPrefix}${owner}/${jobId}/`;
}
