import { JobsApiError } from '../../jobs/api-error';
import { CliError, EXIT } from '../cli-error';

/**
 * Runs one of the jobs API's own pure checks (lib/jobs) before anything is sent, so comfyctl refuses what the API
 * would refuse with the same words, without a round trip; its refusal becomes a CliError with `exitCode`.
 */
export function checkLikeTheApi<T>(check: () => T, exitCode: number = EXIT.usage): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof JobsApiError) throw new CliError(error.field && !error.message.includes(error.field) ? `${error.field}: ${error.message}` : error.message, exitCode);
    throw error;
  }
}
