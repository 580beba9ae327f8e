import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { documentClient } from '../../../lambda/jobs-api/deps';
import { JOBS, jobKey } from '../../../lib/jobs/contract';
import { callJobsApi, JobsApiServer, startJobsApiServer } from '../../helpers/jobs-api-server';
import { JobsBackend, startJobsBackend } from '../../helpers/jobs-backend';

/** The jobs API's real handler code behind a loopback function-URL server, against the jobs backend in moto. */
let backend: JobsBackend & { stop(): Promise<void> };
let server: JobsApiServer;
const db = () => documentClient(backend.clientConfig);
const WORKFLOW = {
  3: { class_type: 'KSampler', inputs: { seed: 5, steps: 20, cfg: 7.5, model: ['4', 0] } },
  4: { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'sd15.safetensors' } },
  6: { class_type: 'CLIPTextEncode', inputs: { text: 'a cat', clip: ['4', 1] } },
};
const call = (method: string, path: string, options?: Parameters<typeof callJobsApi>[3]) => callJobsApi(server, method, path, options);
const submit = (user: string, body: unknown, headers?: Record<string, string>) => call('POST', '/jobs', { user, body, headers });

async function queuedJobIds(): Promise<string[]> {
  const sqs = new SQSClient(backend.clientConfig);
  const ids: string[] = [];
  for (;;) {
    const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: backend.queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 600 }));
    if (!out.Messages?.length) return ids;
    ids.push(...out.Messages.map((m) => JSON.parse(m.Body!)[JOBS.queueMessage.jobIdField]));
  }
}

beforeAll(async () => {
  backend = await startJobsBackend();
  server = await startJobsApiServer({ ...backend.env, JOBS_ADMINS: 'root' });
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await backend?.stop();
});

describe('submitting and reading jobs', () => {
  test('a submitted workflow is stored pending, queued once and readable by its owner only', async () => {
    const submitted = await submit('alice', { workflow: WORKFLOW });
    expect(submitted.status).toBe(202);
    expect(submitted.body).toMatchObject({ owner: 'alice', status: 'pending', attempt: 0, cancel_requested: false, outputs: [] });

    const read = await call('GET', `/jobs/${submitted.body.id}`, { user: 'alice' });
    expect(read.status).toBe(200);
    expect(read.body).toEqual(submitted.body);
    expect(await queuedJobIds()).toEqual([submitted.body.id]);

    expect((await call('GET', `/jobs/${submitted.body.id}`, { user: 'bob' })).status).toBe(404);
    expect((await call('GET', `/jobs/${submitted.body.id}`, { user: 'root' })).status).toBe(200);
  });

  test('a request without the edge identity header is refused with 401 naming the edge authentication', async () => {
    const answer = await call('GET', '/jobs');
    expect(answer.status).toBe(401);
    expect(answer.body.error.message).toContain('x-comfyui-user');
  });

  test('a POST without the body sha256 is refused 403 before the handler, like the function URL SigV4 check', async () => {
    const before = server.events.length;
    const answer = await call('POST', '/jobs', { user: 'alice', body: { workflow: WORKFLOW }, headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } });
    expect(answer.status).toBe(403);
    expect(server.events.length).toBe(before);
  });

  test('a UI-format workflow is refused with 400 naming workflow', async () => {
    const answer = await submit('alice', { workflow: { nodes: [], links: [] } });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ field: 'workflow' });
    expect(answer.body.error.message).toContain('UI format');
  });

  test('a workflow over 300 KB is refused with 413', async () => {
    const big = { 1: { class_type: 'Note', inputs: { text: 'x'.repeat(310 * 1024) } } };
    const answer = await submit('alice', { workflow: big });
    expect(answer.status).toBe(413);
    expect(answer.body.error.field).toBe('workflow');
  });

  test('when the queue refuses the message the answer is 503 and the job ends failed (queue_unavailable)', async () => {
    // A queue URL moto does not know: the real SendMessage call fails (AWS.SimpleQueueService.NonExistentQueue).
    const failing = await startJobsApiServer({ ...backend.env, JOBS_QUEUE_URL: `${backend.queueUrl}-gone` });
    try {
      const answer = await callJobsApi(failing, 'POST', '/jobs', { user: 'carol', body: { workflow: WORKFLOW, idempotency_key: 'outage-1' } });
      expect(answer.status).toBe(503);
      const jobs = (await callJobsApi(failing, 'GET', '/jobs', { user: 'carol' })).body.jobs;
      expect(jobs).toHaveLength(1);
      expect(jobs[0]).toMatchObject({ status: 'failed', execution_error: { type: 'queue_unavailable' } });
      // The key was freed with the failure: the retry, once the queue is back, submits anew.
      const retried = await submit('carol', { workflow: WORKFLOW, idempotency_key: 'outage-1' });
      expect(retried.status).toBe(202);
      expect(retried.body.id).not.toBe(jobs[0].id);
    } finally {
      await failing.stop();
    }
  });
});

describe('idempotent submits', () => {
  test('the same key with the same body answers the same job (200) and queues it once', async () => {
    await queuedJobIds();
    const first = await submit('dave', { workflow: WORKFLOW, idempotency_key: 'render-42' });
    const again = await submit('dave', { workflow: WORKFLOW }, { 'Idempotency-Key': 'render-42' });
    expect(first.status).toBe(202);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    expect(await queuedJobIds()).toEqual([first.body.id]);
  });

  test('the same key with a different body is a 409 naming idempotency_key', async () => {
    await submit('dave', { workflow: WORKFLOW, idempotency_key: 'render-43' });
    const other = await submit('dave', { workflow: { ...WORKFLOW, 5: { class_type: 'EmptyLatentImage', inputs: { width: 512 } } }, idempotency_key: 'render-43' });
    expect(other.status).toBe(409);
    expect(other.body.error.field).toBe('idempotency_key');
  });

  test('keys are per user: another user with the same key gets a job of their own', async () => {
    const a = await submit('dave', { workflow: WORKFLOW, idempotency_key: 'shared' });
    const b = await submit('erin', { workflow: WORKFLOW, idempotency_key: 'shared' });
    expect(b.status).toBe(202);
    expect(b.body.id).not.toBe(a.body.id);
  });
});

describe('listing jobs', () => {
  test('pages are newest first, cover every job once, filter by status and show only the caller\'s jobs', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await submit('frank', { workflow: WORKFLOW })).body.id);
    await submit('grace', { workflow: WORKFLOW });
    await call('POST', `/jobs/${ids[1]}/cancel`, { user: 'frank' });

    const seen: Array<{ id: string; create_time: number }> = [];
    let cursor: string | null = null;
    do {
      const page: any = await call('GET', `/jobs?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { user: 'frank' });
      expect(page.status).toBe(200);
      expect(page.body.jobs.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.jobs);
      cursor = page.body.next_cursor;
    } while (cursor !== null);
    // Newest first; jobs created in the same millisecond may come in either order.
    expect(seen.map((j) => j.id).sort()).toEqual([...ids].sort());
    expect(seen.map((j) => j.create_time)).toEqual(seen.map((j) => j.create_time).sort((a, b) => b - a));

    const pending = await call('GET', '/jobs?status=pending', { user: 'frank' });
    expect(pending.body.jobs.map((j: any) => j.id).sort()).toEqual([ids[4], ids[3], ids[2], ids[0]].sort());
    const cancelled = await call('GET', '/jobs?status=cancelled,failed', { user: 'frank' });
    expect(cancelled.body.jobs.map((j: any) => j.id)).toEqual([ids[1]]);
  });

  test('only admins list another user\'s jobs, or everyone\'s with owner=*', async () => {
    expect((await call('GET', '/jobs?owner=frank', { user: 'grace' })).status).toBe(400);
    const franks = await call('GET', '/jobs?owner=frank&limit=100', { user: 'root' });
    expect(franks.body.jobs.every((j: any) => j.owner === 'frank')).toBe(true);
    expect(franks.body.jobs.length).toBe(5);
    const owners = new Set<string>();
    let cursor: string | null = null;
    do {
      const page: any = await call('GET', `/jobs?owner=*&limit=100${cursor ? `&cursor=${cursor}` : ''}`, { user: 'root' });
      page.body.jobs.forEach((j: any) => owners.add(j.owner));
      cursor = page.body.next_cursor;
    } while (cursor !== null);
    expect([...owners]).toEqual(expect.arrayContaining(['frank', 'grace', 'alice']));
  });

  test('a bad status or cursor is a 400 naming it', async () => {
    expect((await call('GET', '/jobs?status=done', { user: 'frank' })).body.error.field).toBe('status');
    expect((await call('GET', '/jobs?cursor=garbage', { user: 'frank' })).body.error.field).toBe('cursor');
  });
});

describe('cancelling jobs', () => {
  test('a pending job is cancelled and the runner\'s pickup condition then fails', async () => {
    const { body: job } = await submit('henry', { workflow: WORKFLOW });
    const answer = await call('POST', `/jobs/${job.id}/cancel`, { user: 'henry' });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: 'cancelled', cancel_requested: true });
    // The runner's pickup (docs/jobs.md, "State machine").
    const pickup = db().send(new UpdateCommand({
      TableName: backend.tableName,
      Key: { pk: jobKey(job.id) },
      UpdateExpression: 'SET #s = :running, attempt = attempt + :one',
      ConditionExpression: '#s = :pending AND cancel_requested <> :true',
      ExpressionAttributeNames: { '#s': 'status' },
      ExpressionAttributeValues: { ':running': 'in_progress', ':pending': 'pending', ':one': 1, ':true': true },
    }));
    await expect(pickup).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
    expect((await call('POST', `/jobs/${job.id}/cancel`, { user: 'henry' })).status).toBe(409);
  });

  test('a running job keeps running with cancel_requested set for its runner', async () => {
    const { body: job } = await submit('henry', { workflow: WORKFLOW });
    await db().send(new UpdateCommand({
      TableName: backend.tableName, Key: { pk: jobKey(job.id) },
      UpdateExpression: 'SET #s = :running', ExpressionAttributeNames: { '#s': 'status' }, ExpressionAttributeValues: { ':running': 'in_progress' },
    }));
    expect((await call('POST', `/jobs/${job.id}/cancel`, { user: 'bob' })).status).toBe(404);
    const answer = await call('POST', `/jobs/${job.id}/cancel`, { user: 'henry' });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: 'in_progress', cancel_requested: true });
  });
});

describe('job outputs', () => {
  test('a finished job\'s outputs carry presigned URLs that fetch the file', async () => {
    const { body: job } = await submit('iris', { workflow: WORKFLOW });
    const key = `jobs/iris/${job.id}/ComfyUI_00001_.png`;
    const { S3Client, PutObjectCommand } = await import('@aws-sdk/client-s3');
    await new S3Client(backend.clientConfig).send(new PutObjectCommand({ Bucket: backend.outputsBucket, Key: key, Body: 'png-bytes' }));
    const output = { node: '9', filename: 'ComfyUI_00001_.png', media_type: 'images', size: 9, content_type: 'image/png', key };
    await db().send(new UpdateCommand({
      TableName: backend.tableName, Key: { pk: jobKey(job.id) },
      UpdateExpression: 'SET #s = :done, outputs = :outputs',
      ExpressionAttributeNames: { '#s': 'status' }, ExpressionAttributeValues: { ':done': 'completed', ':outputs': [output] },
    }));
    const read = await call('GET', `/jobs/${job.id}`, { user: 'iris' });
    expect(read.body.outputs).toHaveLength(1);
    const url = new URL(read.body.outputs[0].url);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('900');
    expect(await (await fetch(url)).text()).toBe('png-bytes');
  });
});

describe('webhook secrets', () => {
  test('the secret is created on first read, stable, and replaced by rotate', async () => {
    const first = await call('GET', '/webhook-secret', { user: 'jack' });
    expect(first.body.secret).toMatch(/^[0-9a-f]{64}$/);
    expect((await call('GET', '/webhook-secret', { user: 'jack' })).body.secret).toBe(first.body.secret);
    const rotated = await call('POST', '/webhook-secret/rotate', { user: 'jack' });
    expect(rotated.body.secret).not.toBe(first.body.secret);
    expect((await call('GET', '/webhook-secret', { user: 'jack' })).body.secret).toBe(rotated.body.secret);
  });
});
