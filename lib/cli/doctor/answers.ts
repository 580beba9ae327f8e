import { SourceAnswer } from '../models/sync-report-sources';

/** The value of an answer, or undefined when its source failed. */
export function valueOf<T>(answer: SourceAnswer<T>): T | undefined {
  return 'ok' in answer ? answer.ok : undefined;
}

/** The first failure among answers a check needs together, or undefined when all answered. */
export function firstError(...answers: readonly SourceAnswer<unknown>[]): string | undefined {
  for (const answer of answers) if ('error' in answer) return answer.error;
  return undefined;
}
