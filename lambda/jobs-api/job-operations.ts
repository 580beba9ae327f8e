import { conflict, invalid, JobsApiError, notFound } from '../../lib/jobs/api-error';
import { planCancel } from '../../lib/jobs/cancel';
import { JOBS, jobKey } from '../../lib/jobs/contract';
import { JobItem, toJobView } from '../../lib/jobs/job-view';
import { encodeCursor, parseListQuery } from '../../lib/jobs/list-query';
import { checkWorkflowSize, parseSubmitRequest, SubmitRequest, submitRequestSha256 } from '../../lib/jobs/submit-request';
import { applyTemplateInputs } from '../../lib/jobs/templates';
import type { ApiWorkflow } from '../../lib/jobs/workflow';
import type { JobsApiDeps } from './deps';
import type { ApiResponse } from './http';
import { IdempotencyRecord, idempotencyItemKey } from './job-store';

/** The caller as the edge verified them; admins (config jobsAdmins) act on every user's jobs. */
export interface Caller {
  readonly user: string;
  readonly admin: boolean;
}

// An idempotency key answers repeats for a day (docs/jobs.md, "DynamoDB items").
const IDEMPOTENCY_SECONDS = 24 * 3600;
const MAX_JOB_ID_LENGTH = 128;

async function viewWithUrls(deps: JobsApiDeps, job: JobItem) {
  const urls = new Map<string, string>();
  for (const output of job.outputs ?? []) urls.set(output.key, await deps.outputUrl(output.key));
  return toJobView(job, urls);
}

/** The job if the caller may see it; another user's job is as absent as a missing one (404). */
async function visibleJob(deps: JobsApiDeps, caller: Caller, id: string): Promise<JobItem> {
  const job = id.length <= MAX_JOB_ID_LENGTH ? await deps.jobs.getJob(id) : undefined;
  if (job === undefined || (job.owner !== caller.user && !caller.admin)) throw notFound(`No job '${id}'`);
  return job;
}

async function resolveWorkflow(deps: JobsApiDeps, request: SubmitRequest): Promise<{ workflow: ApiWorkflow; template?: JobItem['template'] }> {
  if (request.kind === 'workflow') return { workflow: request.workflow };
  const { name, version } = request.template;
  const template = await deps.templates.get(name, version);
  if (template === undefined) {
    throw invalid('template', `No template '${name}'${version === undefined ? '' : ` version ${version}`}; comfyctl templates ls lists them`);
  }
  return {
    workflow: applyTemplateInputs(template, request.inputs),
    template: { name, version: template.version, inputs: request.inputs },
  };
}

export async function submitJob(deps: JobsApiDeps, caller: Caller, body: unknown, idempotencyHeader?: string): Promise<ApiResponse> {
  const request = parseSubmitRequest(body, idempotencyHeader, { allowHttpWebhooks: deps.config.allowHttpWebhooks });
  const { workflow, template } = await resolveWorkflow(deps, request);
  const now = deps.now();
  const id = deps.newJobId();
  const job: JobItem = {
    pk: jobKey(id),
    id,
    owner: caller.user,
    status: JOBS.status.pending,
    create_time: now,
    update_time: now,
    workflow_json: checkWorkflowSize(workflow),
    template,
    webhook_url: request.webhookUrl,
    webhook_state: request.webhookUrl === undefined ? undefined : 'pending',
    webhook_attempts: request.webhookUrl === undefined ? undefined : 0,
    idempotency_key: request.idempotencyKey,
    attempt: 0,
    cancel_requested: false,
    expires_at: Math.floor(now / 1000) + deps.config.retentionDays * 86400,
  };
  const idempotency: IdempotencyRecord | undefined = request.idempotencyKey === undefined ? undefined : {
    pk: idempotencyItemKey(caller.user, request.idempotencyKey),
    job_id: id,
    request_sha256: submitRequestSha256(request),
    expires_at: Math.floor(now / 1000) + IDEMPOTENCY_SECONDS,
  };

  const existing = await deps.jobs.createJob(job, idempotency);
  if (existing !== undefined) {
    if (existing.request_sha256 !== idempotency!.request_sha256) {
      throw conflict(`Idempotency key '${request.idempotencyKey}' was used for a different request (job ${existing.job_id})`, 'idempotency_key');
    }
    const earlier = await deps.jobs.getJob(existing.job_id);
    if (earlier === undefined) throw conflict(`Idempotency key '${request.idempotencyKey}' belongs to job ${existing.job_id}, which no longer exists`, 'idempotency_key');
    return { status: 200, body: await viewWithUrls(deps, earlier) };
  }

  try {
    await deps.enqueueJob(id);
  } catch (error) {
    // No job may stay pending without a message (docs/jobs.md): fail it, so the runner never waits for it.
    deps.logger.error('The jobs queue refused a job; it is marked failed', { jobId: id, error: error as Error });
    await deps.jobs.failUnqueuedJob(id, deps.now(), idempotency?.pk);
    throw new JobsApiError(503, 'queue_unavailable', `The jobs queue is unavailable; job ${id} was not queued. Submit it again`);
  }
  return { status: 202, body: toJobView(job) };
}

export async function getJob(deps: JobsApiDeps, caller: Caller, id: string): Promise<ApiResponse> {
  return { status: 200, body: await viewWithUrls(deps, await visibleJob(deps, caller, id)) };
}

export async function listJobs(deps: JobsApiDeps, caller: Caller, query: Readonly<Record<string, string | undefined>>): Promise<ApiResponse> {
  const page = await deps.jobs.listJobs(parseListQuery(query, caller));
  const jobs = await Promise.all(page.jobs.map((job) => viewWithUrls(deps, job)));
  return { status: 200, body: { jobs, next_cursor: encodeCursor(page.lastKey) } };
}

export async function cancelJob(deps: JobsApiDeps, caller: Caller, id: string): Promise<ApiResponse> {
  let job = await visibleJob(deps, caller, id);
  // A runner may pick the job up or finish it between the read and the write: decide again on the fresh state.
  for (let tries = 0; tries < 3; tries++) {
    const action = planCancel(job.status);
    if (action === 'already_terminal') throw conflict(`Job ${id} is already ${job.status}`);
    const now = deps.now();
    const changed = action === 'cancel' ? await deps.jobs.cancelPending(id, now) : await deps.jobs.requestCancel(id, now);
    if (changed !== undefined) return { status: 200, body: await viewWithUrls(deps, changed) };
    job = await visibleJob(deps, caller, id);
  }
  throw new JobsApiError(503, 'busy', `Job ${id} changed state on every try; cancel it again`);
}
