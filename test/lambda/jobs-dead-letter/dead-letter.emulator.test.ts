import { Logger } from '@aws-lambda-powertools/logger';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { documentClient } from '../../../lambda/jobs-api/deps';
import { createDeadLetterDeps, DeadLetterDeps, deadJobIdOf, markDeadLetters } from '../../../lambda/jobs-dead-letter/dead-letter-batch';
import { jobKey } from '../../../lib/jobs/contract';
import { callJobsApi, JobsApiServer, startJobsApiServer } from '../../helpers/jobs-api-server';
import { JobsBackend, startJobsBackend } from '../../helpers/jobs-backend';
import { sqsEvent } from '../../helpers/sqs-event';

/** The dead-letter handler's real code against the jobs table in moto; jobs are submitted through the API. */
let backend: JobsBackend & { stop(): Promise<void> };
let api: JobsApiServer;
let deps: DeadLetterDeps;
const context = { functionName: 'jobs-dead-letter', awsRequestId: 'req-1' } as Context;
const WORKFLOW = { 1: { class_type: 'EmptyLatentImage', inputs: { width: 64 } } };

const db = () => documentClient(backend.clientConfig);
const getItem = async (id: string) => (await db().send(new GetCommand({ TableName: backend.tableName, Key: { pk: jobKey(id) }, ConsistentRead: true }))).Item!;
const message = (id: string) => JSON.stringify({ job_id: id });

async function jobIn(status: string): Promise<string> {
  const { body } = await callJobsApi(api, 'POST', '/jobs', { user: 'alice', body: { workflow: WORKFLOW } });
  if (status !== 'pending') {
    await db().send(new UpdateCommand({
      TableName: backend.tableName, Key: { pk: jobKey(body.id) }, UpdateExpression: 'SET #s = :s',
      ExpressionAttributeNames: { '#s': 'status' }, ExpressionAttributeValues: { ':s': status },
    }));
  }
  return body.id;
}

beforeAll(async () => {
  backend = await startJobsBackend();
  api = await startJobsApiServer(backend.env);
  deps = createDeadLetterDeps(backend.env, new Logger({ serviceName: 'test' }), backend.clientConfig);
}, 120_000);

afterAll(async () => {
  await api?.stop();
  await backend?.stop();
});

test('dead-lettered pending and running jobs end failed with delivery_failed; finished ones are left as they were', async () => {
  const pending = await jobIn('pending');
  const running = await jobIn('in_progress');
  const completed = await jobIn('completed');
  const result = await markDeadLetters(sqsEvent({ a: message(pending), b: message(running), c: message(completed) }), context, deps);
  expect(result).toEqual({ batchItemFailures: [] });
  for (const id of [pending, running]) {
    expect(await getItem(id)).toMatchObject({ status: 'failed', execution_error: { type: 'delivery_failed' } });
  }
  const finished = await getItem(completed);
  expect(finished.status).toBe('completed');
  expect(finished.execution_error).toBeUndefined();
  // The API shows the failure to the owner.
  expect((await callJobsApi(api, 'GET', `/jobs/${pending}`, { user: 'alice' })).body.execution_error.type).toBe('delivery_failed');
});

test('a message for a job that no longer exists, or that is not a job message, is let go without creating anything', async () => {
  const result = await markDeadLetters(sqsEvent({ gone: message('no-such-job'), junk: 'not json' }), context, deps);
  expect(result).toEqual({ batchItemFailures: [] });
  expect((await db().send(new GetCommand({ TableName: backend.tableName, Key: { pk: jobKey('no-such-job') } }))).Item).toBeUndefined();
  expect(deadJobIdOf('{"job_id": 7}')).toBeUndefined();
});

test('a table failure fails the record, so the DLQ keeps the message', async () => {
  const failing = { ...deps, jobs: { failUnlessTerminal: async () => { throw new Error('injected DynamoDB outage'); } } };
  const result = await markDeadLetters(sqsEvent({ a: message('x') }), context, failing);
  expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'a' }]);
});
