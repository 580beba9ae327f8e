import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { createWakeDeps, WakeDeps } from '../../../lambda/wake/deps';
import { WAKE_ENV } from '../../../lambda/wake/settings';
import { handleWakeEvent } from '../../../lambda/wake/wake';
import { emulatorClientConfig } from '../../helpers/jobs-backend';
import { MotoServer, startMotoServer } from '../../helpers/moto-server';

/** The wake function against SQS in moto: what lands in the queue, and what the visitor gets. */
let moto: MotoServer;
let sqs: SQSClient;
let queueUrl: string;

function wakeEvent(path: string, headers: Record<string, string>, method = 'GET'): APIGatewayProxyEventV2 {
  return {
    version: '2.0', routeKey: '$default', rawPath: path, rawQueryString: '', headers,
    requestContext: { http: { method, path } } as APIGatewayProxyEventV2['requestContext'],
    isBase64Encoded: false,
  };
}

async function received(): Promise<any[]> {
  const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
  return (out.Messages ?? []).map((m) => JSON.parse(m.Body!));
}

function depsFor(url: string, now = 1_767_600_000_000): WakeDeps {
  const deps = createWakeDeps({ [WAKE_ENV.queueUrl]: url, [WAKE_ENV.coldStartMinutes]: '7' }, emulatorClientConfig(moto.endpoint));
  return { ...deps, now: () => now };
}

beforeAll(async () => {
  moto = await startMotoServer();
  sqs = new SQSClient(emulatorClientConfig(moto.endpoint));
  queueUrl = (await sqs.send(new CreateQueueCommand({
    QueueName: 'comfyui-wake', Attributes: { MessageRetentionPeriod: '60', SqsManagedSseEnabled: 'true' },
  }))).QueueUrl!;
}, 60_000);

afterAll(async () => {
  await moto?.stop();
});

describe('a visit while no pod answers', () => {
  test('a browser GET drops {user, path, t} on the wake queue and gets the page', async () => {
    const answer = await handleWakeEvent(
      wakeEvent('/', { accept: 'text/html,*/*;q=0.8', 'x-comfyui-user': 'alice' }),
      depsFor(queueUrl),
    );
    expect(answer.statusCode).toBe(503);
    expect(answer.headers).toMatchObject({ 'retry-after': '20', 'cache-control': 'no-store', 'content-type': 'text/html; charset=utf-8' });
    expect(answer.body).toContain('usually about 7 minutes');
    expect(await received()).toEqual([{ user: 'alice', path: '/', t: 1_767_600_000 }]);
  });

  test('an API client GET drops its message too and gets the JSON error', async () => {
    const answer = await handleWakeEvent(
      wakeEvent('/api/system_stats', { accept: 'application/json', 'x-comfyui-user': 'bob' }),
      depsFor(queueUrl),
    );
    expect(answer.statusCode).toBe(503);
    expect(answer.headers).toMatchObject({ 'retry-after': '20', 'content-type': 'application/json' });
    expect(JSON.parse(answer.body as string).error).toMatchObject({ type: 'gpus_starting', retry_after_seconds: 20 });
    expect(await received()).toEqual([{ user: 'bob', path: '/api/system_stats', t: 1_767_600_000 }]);
  });

  test('when SQS refuses the message, the visitor still gets the page and the failure is logged', async () => {
    const deps = depsFor(`${moto.endpoint}/123456789012/no-such-queue`);
    const error = vi.spyOn(deps.logger, 'error').mockImplementation(() => undefined);
    const answer = await handleWakeEvent(wakeEvent('/', { accept: 'text/html', 'x-comfyui-user': 'alice' }), deps);
    expect(answer.statusCode).toBe(503);
    expect(answer.body).toContain('GPUs are starting');
    expect(error).toHaveBeenCalledTimes(1);
    expect(error.mock.calls[0][0]).toContain('wake queue');
  });
});

test('the exported handler works from its environment alone (AWS_ENDPOINT_URL, as a deployment reads its own)', async () => {
  const client = emulatorClientConfig(moto.endpoint);
  Object.assign(process.env, {
    [WAKE_ENV.queueUrl]: queueUrl, [WAKE_ENV.coldStartMinutes]: '6',
    AWS_ENDPOINT_URL: moto.endpoint, AWS_REGION: client.region, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing',
  });
  const { handler } = await import('../../../lambda/wake/handler');
  const answer = await handler(wakeEvent('/queue', { 'x-comfyui-user': 'carol' }));
  expect(answer.statusCode).toBe(503);
  const [message] = await received();
  expect(message).toMatchObject({ user: 'carol', path: '/queue' });
});
