/**
 * When a failed webhook delivery is tried again (docs/jobs.md, "Webhooks"): after 30 s, 2 min, 10 min, then
 * 15 min four times: 8 attempts over about 75 minutes. 900 s is also SQS's largest DelaySeconds
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html).
 */
export const WEBHOOK_RETRY_DELAYS_SECONDS: readonly number[] = [30, 120, 600, 900, 900, 900, 900];

export const WEBHOOK_MAX_ATTEMPTS = WEBHOOK_RETRY_DELAYS_SECONDS.length + 1;

/** Each delivery attempt may take this long before it counts as failed. */
export const WEBHOOK_TIMEOUT_MS = 10_000;

/** The delay before attempt `attempt + 1`, or undefined when `attempt` was the last one. */
export function nextWebhookDelaySeconds(attempt: number): number | undefined {
  return attempt >= 1 ? WEBHOOK_RETRY_DELAYS_SECONDS[attempt - 1] : undefined;
}
