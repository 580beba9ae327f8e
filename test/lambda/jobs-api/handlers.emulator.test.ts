import { createHash } from 'node:crypto';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { JobsBackend, startJobsBackend } from '../../helpers/jobs-backend';
import { sqsEvent } from '../../helpers/sqs-event';

/**
 * The three exported entry points as Lambda calls them: each reads process.env once (here: the backend in moto)
 * and creates its clients with the SDK's standard configuration (AWS_ENDPOINT_URL), as a deployment would.
 */
let backend: JobsBackend & { stop(): Promise<void> };
const context = { functionName: 'jobs', awsRequestId: 'req-1' } as Context;

function functionUrlEvent(method: string, path: string, body?: unknown): APIGatewayProxyEventV2 {
  const text = body === undefined ? undefined : JSON.stringify(body);
  return {
    version: '2.0', routeKey: '$default', rawPath: path, rawQueryString: '',
    headers: {
      'x-comfyui-user': 'alice', 'content-type': 'application/json',
      ...(text ? { 'x-amz-content-sha256': createHash('sha256').update(text).digest('hex') } : {}),
    },
    requestContext: { http: { method, path } } as APIGatewayProxyEventV2['requestContext'],
    // Function URLs may base64-encode a body; the handler must decode it.
    ...(text ? { body: Buffer.from(text).toString('base64'), isBase64Encoded: true } : { isBase64Encoded: false }),
  };
}

beforeAll(async () => {
  backend = await startJobsBackend();
  Object.assign(process.env, backend.env);
}, 120_000);

afterAll(async () => {
  await backend?.stop();
});

test('the jobs API, dead-letter and webhook entry points work from their environment alone', async () => {
  const { handler: api } = await import('../../../lambda/jobs-api/handler');
  const submitted = await api(functionUrlEvent('POST', '/render-api/v1/jobs', { workflow: { 1: { class_type: 'A' } } }));
  expect(submitted.statusCode).toBe(202);
  expect(submitted.headers).toMatchObject({ 'cache-control': 'no-store' });
  const id = JSON.parse(submitted.body!).id;

  const { handler: deadLetter } = await import('../../../lambda/jobs-dead-letter/handler');
  expect(await deadLetter(sqsEvent({ m: JSON.stringify({ job_id: id }) }), context)).toEqual({ batchItemFailures: [] });
  const read = await api(functionUrlEvent('GET', `/render-api/v1/jobs/${id}`));
  expect(JSON.parse(read.body!)).toMatchObject({ status: 'failed', execution_error: { type: 'delivery_failed' } });

  const { handler: webhooks } = await import('../../../lambda/job-webhooks/handler');
  const retry = JSON.stringify({ job_id: id, delivery_id: `${id}-failed`, attempt: 2 });
  // The job has no webhook: the retry is not due and succeeds without sending anything.
  expect(await webhooks(sqsEvent({ r: retry }), context)).toEqual({ batchItemFailures: [] });
  expect(await webhooks({ Records: [] }, context)).toEqual({ batchItemFailures: [] });
});
