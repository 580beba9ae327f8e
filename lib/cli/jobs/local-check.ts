import { JobsApiError } from '../../jobs/api-error';
import { CliError, EXIT } from '../cli-error';

/**
 * Runs one of the jobs API's own pure checks (lib/jobs) before anything is sent, so comfyctl refuses what the API
 * would refuse with the same words, without a round trip; its refusal becomes a CliError with `exitCode`, led by
 * the option that set the field it names (`flags` maps body fields to options, e.g. webhook_url to --webhook).
 */
export function checkLikeTheApi<T>(check: () => T, exitCode: number = EXIT.usage, flags: Readonly<Record<string, string>> = {}): T {
  try {
    return check();
  } catch (error) {
    if (!(error instanceof JobsApiError)) throw error;
    const source = error.field === undefined ? undefined : flags[error.field] ?? (error.message.includes(error.field) ? undefined : error.field);
    throw new CliError(source === undefined ? error.message : `${source}: ${error.message}`, exitCode);
  }
}
