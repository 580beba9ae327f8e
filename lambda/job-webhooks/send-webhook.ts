import type { Logger } from '@aws-lambda-powertools/logger';
import { attemptIsDue, planAfterAttempt, WebhookAttempt, webhookRequest } from '../../lib/jobs/webhook-delivery';
import { WEBHOOK_TIMEOUT_MS } from '../../lib/jobs/webhook-schedule';
import { checkWebhookUrl } from '../../lib/jobs/submit-request';
import type { WebhookSecretStore } from '../jobs-api/webhook-secret-store';
import type { JobWebhooksConfig } from './config';
import type { WebhookStateStore } from './webhook-state-store';

export interface SendWebhookDeps {
  readonly config: JobWebhooksConfig;
  readonly jobs: WebhookStateStore;
  readonly secrets: WebhookSecretStore;
  /** Queues the next attempt on the retry queue with this DelaySeconds. */
  readonly scheduleRetry: (next: WebhookAttempt, delaySeconds: number) => Promise<void>;
  readonly now: () => number;
  readonly logger: Logger;
}

/** POSTs once; true for a 2xx answer within the timeout. Redirects are not followed: a receiver answers itself. */
async function post(url: string, request: { body: string; headers: Record<string, string> }, logger: Logger, jobId: string): Promise<boolean> {
  try {
    const response = await fetch(url, {
      method: 'POST', body: request.body, headers: request.headers, redirect: 'manual', signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
    });
    await response.body?.cancel();
    if (response.ok) return true;
    logger.warn('Webhook receiver answered an error', { jobId, status: response.status });
  } catch (error) {
    logger.warn('Webhook delivery failed', { jobId, error: (error as Error).message });
  }
  return false;
}

/**
 * One attempt of a job's webhook: re-reads the job (the current state decides whether the attempt is still due),
 * signs with the owner's current secret, POSTs, then records delivered, the next attempt on the retry queue, or
 * failed after the last. Throws only when the table or queue fails, so the record is retried.
 */
export async function sendWebhook(deps: SendWebhookDeps, attempt: WebhookAttempt): Promise<void> {
  const found = await deps.jobs.getJob(attempt.jobId);
  if (!attemptIsDue(found, attempt)) {
    deps.logger.info('Webhook attempt no longer due', { ...attempt, webhookState: found?.webhook_state });
    return;
  }
  const job = found!;
  let delivered = false;
  try {
    checkWebhookUrl(job.webhook_url, deps.config.allowHttpWebhooks);
    const secret = await deps.secrets.getOrCreate(job.owner);
    delivered = await post(job.webhook_url!, webhookRequest(job, attempt, secret, deps.now()), deps.logger, job.id);
  } catch (error) {
    if ((error as Error).name !== 'JobsApiError') throw error;
    // Accepted at submit but refused now (the rules changed): no attempt can succeed.
    deps.logger.error('Webhook URL refused; giving up', { jobId: job.id, reason: (error as Error).message });
    await deps.jobs.recordAttempt(job.id, attempt.attempt, 'failed');
    return;
  }
  const outcome = planAfterAttempt(attempt, delivered);
  if (outcome.kind === 'retry') {
    // Queue first, then record: a failure between the two repeats this attempt (a duplicate POST, which the
    // delivery id lets receivers drop) rather than losing the next; a duplicate next attempt is dropped as not due.
    await deps.scheduleRetry(outcome.next, outcome.delaySeconds);
    await deps.jobs.recordAttempt(job.id, attempt.attempt, undefined);
    return;
  }
  await deps.jobs.recordAttempt(job.id, attempt.attempt, outcome.kind);
  deps.logger.info(`Webhook ${outcome.kind}`, { ...attempt });
}
