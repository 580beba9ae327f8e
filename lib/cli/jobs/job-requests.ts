import { EndpointOptions, resolveUrl } from '../comfyui/endpoint-options';
import { statusLog } from '../progress';
import { ApiAnswer, JobsApi } from './jobs-api';
import { JobPage, JobView } from './job-view';
import { SubmitBody } from './submit-request';

/** The API client for one invocation; retries are reported on stderr unless `quiet`. */
export function openJobsApi(flags: EndpointOptions, quiet = false): JobsApi {
  return new JobsApi({ url: resolveUrl(flags), token: flags.token, log: statusLog(quiet) });
}

function jobPath(id: string): string {
  return `jobs/${encodeURIComponent(id)}`;
}

function jobNotFound(id: string): string {
  return `job ${id} not found: a wrong id, or not one of yours (only admins see other users' jobs); 'comfyctl jobs ls' lists yours`;
}

/** Submits; 202 is a new job, 200 the job an earlier request with the same idempotency key created. */
export function submitJob(api: JobsApi, body: SubmitBody): Promise<ApiAnswer<JobView>> {
  return api.call<JobView>({
    method: 'POST',
    path: 'jobs',
    body,
    // The idempotency key makes a repeat return the same job instead of a second one.
    repeatable: true,
    conflict: `idempotency key ${body.idempotency_key} was used in the last 24 hours for a different request: ` +
      'pass a new --idempotency-key (or none, and comfyctl makes one)',
  });
}

export async function getJob(api: JobsApi, id: string): Promise<JobView> {
  return (await api.call<JobView>({ method: 'GET', path: jobPath(id), notFound: jobNotFound(id) })).body;
}

export async function cancelJob(api: JobsApi, id: string): Promise<JobView> {
  const answer = await api.call<JobView>({
    method: 'POST',
    path: `${jobPath(id)}/cancel`,
    // Cancelling twice is harmless: the second answers the same view, or 409 once the job has stopped.
    repeatable: true,
    notFound: jobNotFound(id),
    conflict: `job ${id} has already finished, there is nothing to cancel; 'comfyctl jobs get ${id}' shows how it ended`,
  });
  return answer.body;
}

export async function readJobPage(api: JobsApi, path: string): Promise<JobPage> {
  return (await api.call<JobPage>({ method: 'GET', path })).body;
}

/** The secret that signs this user's webhooks, created by the API on first read; `rotate` replaces it at once. */
export async function webhookSecret(api: JobsApi, rotate: boolean): Promise<string> {
  const answer = rotate
    ? await api.call<{ secret: string }>({ method: 'POST', path: 'webhook-secret/rotate' })
    : await api.call<{ secret: string }>({ method: 'GET', path: 'webhook-secret' });
  return answer.body.secret;
}
