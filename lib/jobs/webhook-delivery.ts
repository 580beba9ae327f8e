import { isPlainObject } from './api-error';
import { isTerminal, JOBS } from './contract';
import { JobItem, toJobView } from './job-view';
import { nextWebhookDelaySeconds, WEBHOOK_MAX_ATTEMPTS } from './webhook-schedule';
import { signWebhookBody } from './webhook-signature';

/**
 * Webhook deliveries (docs/jobs.md, "Webhooks"), pure: which stream records start one, what a retry message
 * holds, the signed request, and what follows an attempt.
 */

/** One delivery attempt of a job's terminal event. */
export interface WebhookAttempt {
  readonly jobId: string;
  /** Stable across the attempts of one event, so receivers can drop repeats. */
  readonly deliveryId: string;
  /** 1 for the first attempt. */
  readonly attempt: number;
}

export function deliveryIdOf(job: Pick<JobItem, 'id' | 'status'>): string {
  return `${job.id}-${job.status}`;
}

/**
 * The first attempt for a stream record whose new image is a terminal job with a webhook URL and whose old image
 * was not terminal (the same test as the event source's filter, repeated because the handler must not rely on it).
 */
export function firstAttemptOf(newImage: Record<string, unknown> | undefined, oldImage: Record<string, unknown> | undefined): WebhookAttempt | undefined {
  if (newImage === undefined || typeof newImage.pk !== 'string' || !newImage.pk.startsWith(JOBS.table.jobKeyPrefix)) return undefined;
  if (typeof newImage.status !== 'string' || !isTerminal(newImage.status)) return undefined;
  if (typeof newImage.webhook_url !== 'string' || typeof newImage.id !== 'string') return undefined;
  if (oldImage !== undefined && typeof oldImage.status === 'string' && isTerminal(oldImage.status)) return undefined;
  return { jobId: newImage.id, deliveryId: deliveryIdOf(newImage as unknown as JobItem), attempt: 1 };
}

/** The retry queue's message body for `attempt`. */
export function retryMessageBody(attempt: WebhookAttempt): string {
  return JSON.stringify({ [JOBS.queueMessage.jobIdField]: attempt.jobId, delivery_id: attempt.deliveryId, attempt: attempt.attempt });
}

export class MalformedRetryMessageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedRetryMessageError';
  }
}

export function parseRetryMessage(body: string): WebhookAttempt {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new MalformedRetryMessageError(`Webhook retry message is not JSON: ${body.slice(0, 200)}`);
  }
  const jobId = isPlainObject(value) ? value[JOBS.queueMessage.jobIdField] : undefined;
  if (!isPlainObject(value) || typeof jobId !== 'string' || typeof value.delivery_id !== 'string'
    || !Number.isInteger(value.attempt) || (value.attempt as number) < 2 || (value.attempt as number) > WEBHOOK_MAX_ATTEMPTS) {
    throw new MalformedRetryMessageError(`Webhook retry message needs job_id, delivery_id and attempt 2..${WEBHOOK_MAX_ATTEMPTS}: ${body.slice(0, 200)}`);
  }
  return { jobId, deliveryId: value.delivery_id, attempt: value.attempt as number };
}

/**
 * Whether `attempt` is still due for `job`: its webhook is neither delivered nor given up, and no earlier
 * invocation has recorded this attempt already (stream records and SQS messages may both arrive twice).
 */
export function attemptIsDue(job: JobItem | undefined, attempt: WebhookAttempt): boolean {
  return job !== undefined && job.webhook_state === 'pending' && typeof job.webhook_url === 'string'
    && isTerminal(job.status) && (job.webhook_attempts ?? 0) < attempt.attempt;
}

/** The POST's body and headers: event, delivery id, send time, the job view without presigned URLs, signed. */
export function webhookRequest(job: JobItem, attempt: WebhookAttempt, secret: string, sentAt: number): { body: string; headers: Record<string, string> } {
  const event = `job.${job.status}`;
  const body = JSON.stringify({ event, delivery_id: attempt.deliveryId, sent_at: sentAt, job: toJobView(job) });
  const { webhook } = JOBS;
  return {
    body,
    headers: {
      'content-type': 'application/json',
      [webhook.eventHeader]: event,
      [webhook.deliveryHeader]: attempt.deliveryId,
      [webhook.signatureHeader]: signWebhookBody(body, secret),
    },
  };
}

export type AttemptOutcome =
  | { readonly kind: 'delivered' }
  | { readonly kind: 'retry'; readonly next: WebhookAttempt; readonly delaySeconds: number }
  | { readonly kind: 'failed' };

export function planAfterAttempt(attempt: WebhookAttempt, delivered: boolean): AttemptOutcome {
  if (delivered) return { kind: 'delivered' };
  const delaySeconds = nextWebhookDelaySeconds(attempt.attempt);
  if (delaySeconds === undefined) return { kind: 'failed' };
  return { kind: 'retry', next: { ...attempt, attempt: attempt.attempt + 1 }, delaySeconds };
}
