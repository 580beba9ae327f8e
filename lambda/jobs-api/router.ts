import { JobsApiError } from '../../lib/jobs/api-error';
import { JOBS_API_PREFIX } from '../../lib/jobs/contract';

/** The jobs API's operations (docs/jobs.md, "API"). */
export type Operation =
  | 'submitJob' | 'listJobs' | 'getJob' | 'cancelJob'
  | 'publishTemplate' | 'listTemplates' | 'showTemplate' | 'deleteTemplate'
  | 'getWebhookSecret' | 'rotateWebhookSecret';

export interface Route {
  readonly operation: Operation;
  /** The `{id}` or `{name}` segment, URL-decoded. */
  readonly param?: string;
}

// Path after the prefix, split on '/'; ':' marks the one parameter segment.
const ROUTES: ReadonlyArray<{ method: string; path: string[]; operation: Operation }> = [
  { method: 'POST', path: ['jobs'], operation: 'submitJob' },
  { method: 'GET', path: ['jobs'], operation: 'listJobs' },
  { method: 'GET', path: ['jobs', ':'], operation: 'getJob' },
  { method: 'POST', path: ['jobs', ':', 'cancel'], operation: 'cancelJob' },
  { method: 'GET', path: ['templates'], operation: 'listTemplates' },
  { method: 'PUT', path: ['templates', ':'], operation: 'publishTemplate' },
  { method: 'GET', path: ['templates', ':'], operation: 'showTemplate' },
  { method: 'DELETE', path: ['templates', ':'], operation: 'deleteTemplate' },
  { method: 'GET', path: ['webhook-secret'], operation: 'getWebhookSecret' },
  { method: 'POST', path: ['webhook-secret', 'rotate'], operation: 'rotateWebhookSecret' },
];

function matches(pattern: readonly string[], segments: readonly string[]): boolean {
  return pattern.length === segments.length && pattern.every((p, i) => p === ':' || p === segments[i]);
}

/** Method and raw path -> the operation; 404 for an unknown path, 405 naming the methods a known one takes. */
export function routeRequest(method: string, rawPath: string): Route {
  const prefix = `${JOBS_API_PREFIX}/`;
  if (!rawPath.startsWith(prefix)) throw new JobsApiError(404, 'not_found', `No jobs API route at ${rawPath}; routes start with ${prefix}`);
  let segments: string[];
  try {
    segments = rawPath.slice(prefix.length).replace(/\/$/, '').split('/').map(decodeURIComponent);
  } catch {
    throw new JobsApiError(400, 'invalid_request', `Path ${rawPath} is not validly URL-encoded`, 'path');
  }
  const candidates = ROUTES.filter((r) => matches(r.path, segments));
  if (candidates.length === 0) throw new JobsApiError(404, 'not_found', `No jobs API route at ${rawPath}`);
  const route = candidates.find((r) => r.method === method.toUpperCase());
  if (route === undefined) {
    throw new JobsApiError(405, 'method_not_allowed', `${rawPath} takes ${candidates.map((r) => r.method).join(', ')}, not ${method}`);
  }
  const at = route.path.indexOf(':');
  return at === -1 ? { operation: route.operation } : { operation: route.operation, param: segments[at] };
}
