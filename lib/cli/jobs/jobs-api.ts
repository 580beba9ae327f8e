import { JOBS_API_PREFIX } from '../../jobs/contract';
import { CliError, EXIT } from '../cli-error';
import { ComfyuiClient } from '../comfyui/comfyui-client';
import { ErrorHints, apiError, retryAfterSeconds } from './api-errors';
import { CONTENT_SHA256_HEADER, contentSha256 } from './content-sha256';

export interface JobsApiOptions {
  /** The deployment's URL (CloudFront); the API lives under JOBS_API_PREFIX there. */
  readonly url: string;
  /** The user's token, sent as `Authorization: Bearer` the way `comfyctl invoke` sends it. */
  readonly token?: string;
  /** Status lines (retries); stderr in the commands. */
  readonly log?: (line: string) => void;
  /** Tries of a call that is safe to repeat, when it answers 502/503/504 or does not answer. @default 4 */
  readonly attempts?: number;
  /** Upper bound of one wait between tries, whatever Retry-After says. @default 30000 */
  readonly maxRetryDelayMs?: number;
  /** The wait when the answer has no Retry-After. @default 2000 */
  readonly defaultRetryDelayMs?: number;
}

export interface ApiCall extends ErrorHints {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path below the API prefix, its segments already encoded: `jobs/6f0c.../cancel`, `jobs?status=failed`. */
  readonly path: string;
  /** Sent as JSON. POST and PUT always send a body (an empty one when undefined) and its SHA-256. */
  readonly body?: unknown;
  /**
   * Whether repeating the call cannot do it twice. Default: true for GET and DELETE; a submit is safe
   * because it carries an idempotency key; a template publish is not (each one takes a new version).
   */
  readonly repeatable?: boolean;
}

export interface ApiAnswer<T> {
  readonly status: number;
  readonly body: T;
}

const TRANSIENT = new Set([502, 503, 504]);

/**
 * The client of the jobs API (docs/jobs.md): the user's token like `comfyctl invoke`, the body hash CloudFront's
 * origin access control needs on every POST/PUT, retries of repeatable calls while the API is briefly unavailable,
 * and every other failure as a CliError saying what to do next.
 */
export class JobsApi {
  private readonly http: ComfyuiClient;

  constructor(private readonly options: JobsApiOptions) {
    this.http = new ComfyuiClient({ url: options.url, token: options.token });
  }

  /** The base of the API, for messages. */
  get baseUrl(): string {
    return this.http.url(JOBS_API_PREFIX);
  }

  async call<T>(call: ApiCall): Promise<ApiAnswer<T>> {
    const attempts = (call.repeatable ?? (call.method === 'GET' || call.method === 'DELETE')) ? this.options.attempts ?? 4 : 1;
    const what = `${call.method} ${JOBS_API_PREFIX}/${call.path.split('?')[0]}`;
    for (let attempt = 1; ; attempt += 1) {
      const last = attempt >= attempts;
      let response: Response;
      try {
        response = await this.send(call);
      } catch (error) {
        if (last || !(error instanceof CliError) || error.exitCode !== EXIT.unreachable) throw error;
        await this.pause(what, error.message, undefined);
        continue;
      }
      const body = await readBody(response);
      if (response.ok) return { status: response.status, body: body as T };
      const retryAfterS = retryAfterSeconds(response.headers.get('retry-after'));
      if (last || !TRANSIENT.has(response.status)) throw apiError(what, response.status, body, call, retryAfterS);
      await this.pause(what, `HTTP ${response.status}`, retryAfterS);
    }
  }

  private send(call: ApiCall): Promise<Response> {
    const path = `${JOBS_API_PREFIX}/${call.path}`;
    if (call.method !== 'POST' && call.method !== 'PUT') return this.http.send(call.method, path);
    // The bytes hashed are the bytes sent: the same string goes to fetch, which encodes it as UTF-8.
    const body = call.body === undefined ? '' : JSON.stringify(call.body);
    return this.http.send(call.method, path, { body, headers: { [CONTENT_SHA256_HEADER]: contentSha256(body) } });
  }

  private async pause(what: string, reason: string, retryAfterS: number | undefined): Promise<void> {
    const delayMs = Math.min(retryAfterS === undefined ? this.options.defaultRetryDelayMs ?? 2000 : retryAfterS * 1000,
      this.options.maxRetryDelayMs ?? 30_000);
    this.options.log?.(`${what}: ${reason}; trying again in ${Math.round(delayMs / 100) / 10} s`);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
}

async function readBody(response: Response): Promise<unknown> {
  const text = await response.text().catch(() => '');
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    if (response.ok) throw new CliError(`expected JSON from ${response.url}, got: ${text.slice(0, 200)}`, EXIT.failure);
    return text;
  }
}
