import { expect } from 'vitest';
import { JobsApiError } from '../../../lib/jobs/api-error';

/** The JobsApiError `run` throws (its status, field and message); fails the test when it throws none. */
export function refusal(run: () => unknown): { field?: string; message: string; status: number } {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(JobsApiError);
    const e = error as JobsApiError;
    return { field: e.field, message: e.message, status: e.status };
  }
  throw new Error('expected a refusal, got none');
}
