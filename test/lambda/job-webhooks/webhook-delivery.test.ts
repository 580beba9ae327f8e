import { createHmac } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { readJobWebhooksConfig } from '../../../lambda/job-webhooks/config';
import type { JobItem } from '../../../lib/jobs/job-view';
import {
  attemptIsDue, firstAttemptOf, MalformedRetryMessageError, parseRetryMessage, planAfterAttempt, retryMessageBody, webhookRequest,
} from '../../../lib/jobs/webhook-delivery';
import { WEBHOOK_MAX_ATTEMPTS, WEBHOOK_RETRY_DELAYS_SECONDS } from '../../../lib/jobs/webhook-schedule';
import { signWebhookBody, verifyWebhookSignature } from '../../../lib/jobs/webhook-signature';

const job: JobItem = {
  pk: 'job#j1', id: 'j1', owner: 'alice', status: 'completed', create_time: 1, update_time: 2, workflow_json: '{}',
  attempt: 1, webhook_url: 'https://hooks.example.com/x', webhook_state: 'pending', webhook_attempts: 0,
  outputs: [{ node: '9', filename: 'a.png', media_type: 'images', size: 3, content_type: 'image/png', key: 'jobs/alice/j1/a.png' }],
};

describe('signatures', () => {
  test('sha256=<hex HMAC-SHA256 of the raw body>, verified in constant time, any change refused', () => {
    const body = '{"event":"job.completed"}';
    const header = signWebhookBody(body, 's3cret');
    expect(header).toBe(`sha256=${createHmac('sha256', 's3cret').update(body).digest('hex')}`);
    expect(verifyWebhookSignature(body, header, 's3cret')).toBe(true);
    expect(verifyWebhookSignature(`${body} `, header, 's3cret')).toBe(false);
    expect(verifyWebhookSignature(body, header, 'other')).toBe(false);
    expect(verifyWebhookSignature(body, header.slice(0, -1), 's3cret')).toBe(false);
    expect(verifyWebhookSignature(body, undefined, 's3cret')).toBe(false);
    expect(verifyWebhookSignature(body, header.replace('sha256=', 'sha1='), 's3cret')).toBe(false);
  });
});

describe('which stream records start a delivery', () => {
  const running = { ...job, status: 'in_progress' };
  test('a job turning terminal with a webhook URL', () => {
    expect(firstAttemptOf({ ...job }, running)).toEqual({ jobId: 'j1', deliveryId: 'j1-completed', attempt: 1 });
    expect(firstAttemptOf({ ...job, status: 'cancelled' }, undefined)?.deliveryId).toBe('j1-cancelled');
  });
  test.each([
    ['no new image', undefined, running],
    ['not terminal', running, { ...job, status: 'pending' }],
    ['already terminal before', { ...job }, { ...job, status: 'failed' }],
    ['no webhook URL', { ...job, webhook_url: undefined }, running],
    ['not a job item', { pk: 'user#alice', webhook_secret: 'x', status: 'completed' }, undefined],
  ])('not %s', (_what, newImage, oldImage) => {
    expect(firstAttemptOf(newImage as any, oldImage as any)).toBeUndefined();
  });
});

describe('attempts and their outcomes', () => {
  test('the schedule: 30 s, 2 min, 10 min, then 15 min four times; 8 attempts, then failed', () => {
    expect(WEBHOOK_MAX_ATTEMPTS).toBe(8);
    const delays: number[] = [];
    let attempt = { jobId: 'j1', deliveryId: 'd', attempt: 1 };
    for (;;) {
      const outcome = planAfterAttempt(attempt, false);
      if (outcome.kind !== 'retry') {
        expect(outcome.kind).toBe('failed');
        break;
      }
      delays.push(outcome.delaySeconds);
      attempt = outcome.next;
    }
    expect(delays).toEqual([30, 120, 600, 900, 900, 900, 900]);
    expect(delays).toEqual(WEBHOOK_RETRY_DELAYS_SECONDS);
    expect(attempt.attempt).toBe(8);
    expect(planAfterAttempt(attempt, true)).toEqual({ kind: 'delivered' });
  });

  test('an attempt is due only while pending and not yet recorded', () => {
    const a = { jobId: 'j1', deliveryId: 'd', attempt: 2 };
    expect(attemptIsDue({ ...job, webhook_attempts: 1 }, a)).toBe(true);
    expect(attemptIsDue({ ...job, webhook_attempts: 2 }, a)).toBe(false);
    expect(attemptIsDue({ ...job, webhook_state: 'delivered' }, a)).toBe(false);
    expect(attemptIsDue({ ...job, webhook_state: 'failed' }, a)).toBe(false);
    expect(attemptIsDue(undefined, a)).toBe(false);
  });

  test('retry messages round-trip; malformed ones are named', () => {
    const next = { jobId: 'j1', deliveryId: 'j1-completed', attempt: 3 };
    expect(parseRetryMessage(retryMessageBody(next))).toEqual(next);
    for (const bad of ['nope', '{}', '{"job_id":"j1","delivery_id":"d","attempt":1}', '{"job_id":"j1","delivery_id":"d","attempt":9}']) {
      expect(() => parseRetryMessage(bad)).toThrow(MalformedRetryMessageError);
    }
  });

  test('the request: event and delivery headers, signed body with the job view and no presigned URLs', () => {
    const { body, headers } = webhookRequest(job, { jobId: 'j1', deliveryId: 'j1-completed', attempt: 1 }, 'k', 1234);
    const parsed = JSON.parse(body);
    expect(parsed).toMatchObject({ event: 'job.completed', delivery_id: 'j1-completed', sent_at: 1234, job: { id: 'j1', status: 'completed' } });
    expect(parsed.job.outputs[0].url).toBeUndefined();
    expect(parsed.job.outputs[0].key).toBe('jobs/alice/j1/a.png');
    expect(headers).toMatchObject({ 'x-render-event': 'job.completed', 'x-render-delivery': 'j1-completed' });
    expect(verifyWebhookSignature(body, headers['x-render-signature-256'], 'k')).toBe(true);
  });
});

test('configuration names a missing variable', () => {
  expect(() => readJobWebhooksConfig({ JOBS_TABLE_NAME: 't' })).toThrow('WEBHOOK_RETRY_QUEUE_URL');
  expect(readJobWebhooksConfig({ JOBS_TABLE_NAME: 't', WEBHOOK_RETRY_QUEUE_URL: 'q' }).allowHttpWebhooks).toBe(false);
});
