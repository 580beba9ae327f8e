import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { Context, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { documentClient } from '../../../lambda/jobs-api/deps';
import { createJobWebhooksDeps } from '../../../lambda/job-webhooks/deps';
import { handleWebhookEvent } from '../../../lambda/job-webhooks/webhook-batch';
import type { SendWebhookDeps } from '../../../lambda/job-webhooks/send-webhook';
import { JOBS, jobKey } from '../../../lib/jobs/contract';
import { WEBHOOK_RETRY_DELAYS_SECONDS } from '../../../lib/jobs/webhook-schedule';
import { verifyWebhookSignature } from '../../../lib/jobs/webhook-signature';
import { callJobsApi, JobsApiServer, startJobsApiServer } from '../../helpers/jobs-api-server';
import { JobsBackend, startJobsBackend } from '../../helpers/jobs-backend';
import { MotoServer, recordedCalls } from '../../helpers/moto-server';
import { sqsEvent } from '../../helpers/sqs-event';

/**
 * The webhook sender's real code against the jobs backend in moto and a loopback receiver that checks each
 * signature with the owner's secret (read through the API, as a user sets up a receiver). Stream records are built
 * from the job item before and after the runner's terminal update, as DynamoDB Streams would deliver them.
 */
let backend: JobsBackend & { moto: MotoServer; stop(): Promise<void> };
let api: JobsApiServer;
let deps: SendWebhookDeps;
const context = { functionName: 'job-webhooks', awsRequestId: 'req-1' } as Context;
const WORKFLOW = { 1: { class_type: 'EmptyLatentImage', inputs: { width: 64, height: 64, batch_size: 1 } } };

interface Received { headers: http.IncomingHttpHeaders; body: string }
let receiver: http.Server;
let receiverUrl: string;
let received: Received[] = [];
let answerStatus = 200;

const db = () => documentClient(backend.clientConfig);
const getItem = async (id: string) => (await db().send(new GetCommand({ TableName: backend.tableName, Key: { pk: jobKey(id) }, ConsistentRead: true }))).Item!;
const retriesSent = () => recordedCalls(backend.moto, 'AmazonSQS.SendMessage').filter((c) => c.QueueUrl === backend.webhookRetryQueueUrl);

/** A job submitted with a webhook, then finished by "the runner"; returns the stream event of that change. */
async function finishedJob(user: string, status = 'completed', webhookUrl: string | undefined = receiverUrl): Promise<{ id: string; event: DynamoDBStreamEvent }> {
  const submitted = await callJobsApi(api, 'POST', '/jobs', { user, body: { workflow: WORKFLOW, ...(webhookUrl ? { webhook_url: webhookUrl } : {}) } });
  expect(submitted.status).toBe(202);
  const id = submitted.body.id;
  const before = await getItem(id);
  await db().send(new UpdateCommand({
    TableName: backend.tableName, Key: { pk: jobKey(id) },
    UpdateExpression: 'SET #s = :s, update_time = :t', ExpressionAttributeNames: { '#s': 'status' },
    ExpressionAttributeValues: { ':s': status, ':t': Date.now() },
  }));
  return { id, event: streamEvent(before, await getItem(id)) };
}

function streamEvent(oldImage: Record<string, unknown> | undefined, newImage: Record<string, unknown>): DynamoDBStreamEvent {
  return {
    Records: [{
      eventID: `e-${Math.random()}`, eventName: 'MODIFY', eventSource: 'aws:dynamodb', awsRegion: 'us-west-2',
      eventSourceARN: backend.tableStreamArn,
      dynamodb: {
        Keys: marshall({ pk: newImage.pk }) as any, SequenceNumber: String(Date.now()), StreamViewType: 'NEW_AND_OLD_IMAGES',
        NewImage: marshall(newImage, { removeUndefinedValues: true }) as any,
        ...(oldImage ? { OldImage: marshall(oldImage, { removeUndefinedValues: true }) as any } : {}),
      },
    }],
  };
}

beforeAll(async () => {
  backend = await startJobsBackend();
  api = await startJobsApiServer(backend.env);
  deps = createJobWebhooksDeps(backend.env, backend.clientConfig);
  receiver = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      response.writeHead(answerStatus).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
}, 120_000);

afterAll(async () => {
  receiver?.closeAllConnections();
  await new Promise((resolve) => receiver?.close(resolve));
  await api?.stop();
  await backend?.stop();
});

beforeEach(() => {
  received = [];
  answerStatus = 200;
});

describe('first delivery from the stream', () => {
  test('a completed job is POSTed once, signed with its owner\'s secret, and marked delivered', async () => {
    const secret = (await callJobsApi(api, 'GET', '/webhook-secret', { user: 'alice' })).body.secret;
    const { id, event } = await finishedJob('alice');
    expect(await handleWebhookEvent(event, context, deps)).toEqual({ batchItemFailures: [] });

    expect(received).toHaveLength(1);
    const [delivery] = received;
    expect(verifyWebhookSignature(delivery.body, delivery.headers[JOBS.webhook.signatureHeader] as string, secret)).toBe(true);
    expect(verifyWebhookSignature(delivery.body, delivery.headers[JOBS.webhook.signatureHeader] as string, 'another secret')).toBe(false);
    const body = JSON.parse(delivery.body);
    expect(body).toMatchObject({ event: 'job.completed', delivery_id: delivery.headers[JOBS.webhook.deliveryHeader], job: { id, owner: 'alice', status: 'completed' } });
    expect(delivery.headers[JOBS.webhook.eventHeader]).toBe('job.completed');
    expect(Date.now() - body.sent_at).toBeLessThan(5 * 60_000);
    expect(await getItem(id)).toMatchObject({ webhook_state: 'delivered', webhook_attempts: 1 });

    // The same record again (the event source retries batches): nothing is sent twice.
    await handleWebhookEvent(event, context, deps);
    expect(received).toHaveLength(1);
  });

  test('records that are not a first terminal change with a webhook send nothing', async () => {
    const { event: noHook } = await finishedJob('bob', 'completed', '');
    const { id, event } = await finishedJob('bob', 'cancelled');
    const newImage = await getItem(id);
    const terminalToTerminal = streamEvent({ ...newImage, status: 'failed' }, newImage);
    const stillRunning = streamEvent(undefined, { ...newImage, status: 'in_progress' });
    for (const e of [noHook, terminalToTerminal, stillRunning]) {
      expect(await handleWebhookEvent(e, context, deps)).toEqual({ batchItemFailures: [] });
    }
    expect(received).toHaveLength(0);
    await handleWebhookEvent(event, context, deps);
    expect(received.map((r) => JSON.parse(r.body).event)).toEqual(['job.cancelled']);
  });
});

describe('retries', () => {
  test('a failing receiver gets every attempt of the schedule, then the job\'s webhook_state is failed', async () => {
    answerStatus = 500;
    const { id, event } = await finishedJob('carol', 'failed');
    const before = retriesSent().length;
    await handleWebhookEvent(event, context, deps);
    // Each failed attempt queues the next; deliver it at once instead of waiting for its DelaySeconds.
    for (let attempt = 2; attempt <= WEBHOOK_RETRY_DELAYS_SECONDS.length + 1; attempt++) {
      const queued = retriesSent().slice(before);
      expect(queued).toHaveLength(attempt - 1);
      const result = await handleWebhookEvent(sqsEvent({ [`m${attempt}`]: queued.at(-1).MessageBody }), context, deps);
      expect(result).toEqual({ batchItemFailures: [] });
    }
    const sent = retriesSent().slice(before);
    expect(sent.map((c) => c.DelaySeconds)).toEqual(WEBHOOK_RETRY_DELAYS_SECONDS);
    expect(sent.map((c) => JSON.parse(c.MessageBody).attempt)).toEqual([2, 3, 4, 5, 6, 7, 8]);
    expect(received).toHaveLength(8);
    expect(new Set(received.map((r) => r.headers[JOBS.webhook.deliveryHeader])).size).toBe(1);
    expect(await getItem(id)).toMatchObject({ webhook_state: 'failed', webhook_attempts: 8 });
  });

  test('a retry succeeds: delivered, and a repeated retry message sends nothing more', async () => {
    answerStatus = 503;
    const { id, event } = await finishedJob('dave');
    const before = retriesSent().length;
    await handleWebhookEvent(event, context, deps);
    const retry = retriesSent().slice(before)[0];
    expect(retry.DelaySeconds).toBe(30);
    answerStatus = 204;
    await handleWebhookEvent(sqsEvent({ r1: retry.MessageBody }), context, deps);
    await handleWebhookEvent(sqsEvent({ r1: retry.MessageBody }), context, deps);
    expect(received.map((r) => r.headers[JOBS.webhook.eventHeader])).toEqual(['job.completed', 'job.completed']);
    expect(await getItem(id)).toMatchObject({ webhook_state: 'delivered', webhook_attempts: 2 });
    expect(retriesSent().length).toBe(before + 1);
  });

  test('when the retry queue refuses the next attempt, the record fails so it is tried again', async () => {
    answerStatus = 500;
    const { event } = await finishedJob('erin');
    const failingQueue = { ...deps, scheduleRetry: async () => { throw new Error('injected SQS outage'); } };
    const result = await handleWebhookEvent(event, context, failingQueue);
    expect(result.batchItemFailures).toHaveLength(1);
  });

  test('a malformed retry message is dropped, not retried', async () => {
    const result = await handleWebhookEvent(sqsEvent({ bad: '{"job_id": 1}' }), context, deps);
    expect(result).toEqual({ batchItemFailures: [] });
    expect(received).toHaveLength(0);
  });
});
