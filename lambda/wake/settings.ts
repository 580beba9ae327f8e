import type { Env } from '../../lib/jobs/env';

/** Environment variables of the wake function; lib/constructs/wake-function.ts sets them. */
export const WAKE_ENV = {
  /** URL of the wake queue (lib/names.ts wakeQueueName): one message per visit while no ComfyUI pod answers. */
  queueUrl: 'WAKE_QUEUE_URL',
  /** Whole minutes the page announces for a start from zero (config coldStartEstimateMinutes). */
  coldStartMinutes: 'COLD_START_ESTIMATE_MINUTES',
} as const;

export interface WakeSettings {
  readonly queueUrl: string;
  readonly coldStartMinutes: number;
}

/** Reads the environment once, at the first request; each error names the variable and what it must hold. */
export function readWakeSettings(env: Env): WakeSettings {
  const queueUrl = env[WAKE_ENV.queueUrl];
  if (!queueUrl || !/^https?:\/\//.test(queueUrl)) {
    throw new Error(`${WAKE_ENV.queueUrl} must be the wake queue's URL (https://sqs...), got '${queueUrl ?? ''}'`);
  }
  const minutesText = env[WAKE_ENV.coldStartMinutes] ?? '';
  const minutes = Number(minutesText);
  if (!/^\d+$/.test(minutesText) || minutes < 1 || minutes > 60) {
    throw new Error(`${WAKE_ENV.coldStartMinutes} must be whole minutes 1..60 (config coldStartEstimateMinutes), got '${minutesText}'`);
  }
  return { queueUrl, coldStartMinutes: minutes };
}
