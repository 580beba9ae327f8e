/**
 * A refusal the jobs API answers as `{"error": {"type", "message", "field"}}` (docs/jobs.md, "Errors"). Pure
 * validation code throws it; the handler turns it into the HTTP answer, so every check names its input once.
 */
export class JobsApiError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 405 | 409 | 413 | 503,
    readonly type: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'JobsApiError';
  }

  toBody(): { error: { type: string; message: string; field?: string } } {
    return { error: { type: this.type, message: this.message, ...(this.field !== undefined ? { field: this.field } : {}) } };
  }
}

/** 400 for a bad field of a request; `field` is its dotted path, e.g. `inputs.seed`. */
export function invalid(field: string, message: string): JobsApiError {
  return new JobsApiError(400, 'invalid_request', message, field);
}

export function notFound(message: string): JobsApiError {
  return new JobsApiError(404, 'not_found', message);
}

export function conflict(message: string, field?: string): JobsApiError {
  return new JobsApiError(409, 'conflict', message, field);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
