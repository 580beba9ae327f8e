import { MAX_WORKFLOW_BYTES } from '../../jobs/submit-request';
import { CliError, EXIT } from '../cli-error';

/** The jobs API's error body (docs/jobs.md, "Errors"). */
export interface ApiErrorBody {
  readonly error?: { readonly type?: string; readonly message?: string; readonly field?: string };
}

/** What one call's 404 and 409 mean to the user, said with what to do next. */
export interface ErrorHints {
  /** e.g. "job 6f0c... not found: wrong id, or not one of yours ('comfyctl jobs ls' lists yours)" */
  readonly notFound?: string;
  /** e.g. "idempotency key K was used for a different request: pass a new --idempotency-key" */
  readonly conflict?: string;
}

/** The API's own message, with the field it names: `inputs.seed: must be at most 100`. */
export function apiMessage(body: unknown): string | undefined {
  const error = (body as ApiErrorBody | null)?.error;
  if (!error || typeof error.message !== 'string') return undefined;
  return error.field && !error.message.includes(error.field) ? `${error.field}: ${error.message}` : error.message;
}

/**
 * Seconds from a Retry-After header (delay-seconds or an HTTP date, RFC 9110 section 10.2.3), or undefined
 * when absent or unreadable.
 */
export function retryAfterSeconds(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim());
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}

/**
 * A failed answer of the jobs API as an error that says what to do next. `what` names the call
 * (`POST /render-api/v1/jobs`). 401/403 never get here: the HTTP client reports them with the token advice.
 */
export function apiError(what: string, status: number, body: unknown, hints: ErrorHints, retryAfterS?: number): CliError {
  const message = apiMessage(body);
  switch (status) {
    case 400:
      return new CliError(`the jobs API refused the request: ${message ?? describeBody(body)}`, EXIT.validation);
    case 404:
      if (message === undefined) {
        // No JSON error: the path went to ComfyUI, not to the jobs API (no /render-api/* behaviour yet).
        return new CliError(`${what} answered 404 without a jobs API error: is the jobs stack deployed behind this URL? ` +
          "(comfyctl uses CloudFrontEntry.CloudFrontUrl from cdk-outputs.json, or --url)", EXIT.failure);
      }
      return new CliError(hints.notFound ?? `${what}: ${message}`, EXIT.usage);
    case 409:
      return new CliError(hints.conflict ? `${hints.conflict} (${message ?? 'conflict'})` : `${what}: ${message ?? 'conflict'}`, EXIT.usage);
    case 413:
      return new CliError(`${what}: ${message ?? 'request too large'}. The API takes workflows up to ` +
        `${MAX_WORKFLOW_BYTES / 1024} KB (a job is one DynamoDB item): remove embedded data such as base64 images`, EXIT.validation);
    case 503:
      return new CliError(`${what} answered 503${message ? ` (${message})` : ''}: GPU nodes are starting or the job queue is ` +
        `unavailable, and the request was not taken. Retry ${retryAfterS === undefined ? 'in a minute' : `in ${retryAfterS} s`}`, EXIT.failure);
    default:
      return new CliError(`${what} failed with HTTP ${status}: ${message ?? describeBody(body)}`, EXIT.failure);
  }
}

function describeBody(body: unknown): string {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return text === '' || text === undefined ? 'no details' : text.slice(0, 500);
}
