import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { documentClient } from '../../../lambda/jobs-api/deps';
import { jobKey } from '../../../lib/jobs/contract';
import { callJobsApi, JobsApiServer, startJobsApiServer } from '../../helpers/jobs-api-server';
import { JobsBackend, startJobsBackend } from '../../helpers/jobs-backend';

/** Templates through the real API code, stored in the versioned templates bucket in moto. */
let backend: JobsBackend & { stop(): Promise<void> };
let server: JobsApiServer;
const WORKFLOW = {
  3: { class_type: 'KSampler', inputs: { seed: 5, steps: 20, cfg: 7.5, model: ['4', 0] } },
  4: { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'sd15.safetensors' } },
  6: { class_type: 'CLIPTextEncode', inputs: { text: 'a cat', clip: ['4', 1] } },
};
const BINDINGS = { prompt: '6.text', seed: { path: '3.seed', min: 0 }, steps: { path: '3.steps', min: 1, max: 50 } };
const call = (method: string, path: string, user: string, body?: unknown) => callJobsApi(server, method, path, { user, body });

beforeAll(async () => {
  backend = await startJobsBackend();
  server = await startJobsApiServer(backend.env);
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await backend?.stop();
});

describe('publishing and reading templates', () => {
  test('each publish takes the next version; show gives the latest or name@version; list gives the latest', async () => {
    const first = await call('PUT', '/templates/portrait', 'designer', { workflow: WORKFLOW, inputs: BINDINGS, description: 'v1' });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ name: 'portrait', version: 1 });
    expect(first.body.inputs).toEqual([
      { name: 'prompt', node: '6', input: 'text', type: 'string', default: 'a cat', min: null, max: null },
      { name: 'seed', node: '3', input: 'seed', type: 'int', default: 5, min: 0, max: null },
      { name: 'steps', node: '3', input: 'steps', type: 'int', default: 20, min: 1, max: 50 },
    ]);
    const second = await call('PUT', '/templates/portrait', 'designer', { workflow: WORKFLOW, inputs: { prompt: '6.text' }, description: 'v2' });
    expect(second.body.version).toBe(2);

    const latest = await call('GET', '/templates/portrait', 'artist');
    expect(latest.body).toMatchObject({ name: 'portrait', version: 2, description: 'v2', created_by: 'designer', workflow: WORKFLOW });
    const v1 = await call('GET', '/templates/portrait@1', 'artist');
    expect(v1.body).toMatchObject({ version: 1, description: 'v1' });
    expect(v1.body.inputs).toHaveLength(3);
    expect((await call('GET', '/templates/portrait@3', 'artist')).status).toBe(404);

    const listed = await call('GET', '/templates', 'artist');
    expect(listed.body.templates).toEqual([expect.objectContaining({ name: 'portrait', latest_version: 2, description: 'v2' })]);
  });

  test('concurrent publishers never share a version number', async () => {
    const answers = await Promise.all([1, 2, 3, 4].map((i) =>
      call('PUT', '/templates/race', `designer${i}`, { workflow: WORKFLOW, description: `by ${i}` })));
    expect(answers.map((a) => a.status)).toEqual([201, 201, 201, 201]);
    expect(answers.map((a) => a.body.version).sort()).toEqual([1, 2, 3, 4]);
  });

  test('a publish with a bad binding is a 400 naming that input', async () => {
    const missingNode = await call('PUT', '/templates/bad', 'designer', { workflow: WORKFLOW, inputs: { x: '99.text' } });
    expect(missingNode.status).toBe(400);
    expect(missingNode.body.error.field).toBe('inputs.x');
    const link = await call('PUT', '/templates/bad', 'designer', { workflow: WORKFLOW, inputs: { model: '3.model' } });
    expect(link.body.error).toMatchObject({ field: 'inputs.model' });
    expect((await call('PUT', '/templates/bad', 'designer', { workflow: { nodes: [], links: [] } })).body.error.field).toBe('workflow');
    expect((await call('PUT', '/templates/bad%2Fname', 'designer', { workflow: WORKFLOW })).body.error.field).toBe('name');
    expect((await call('GET', '/templates/bad', 'designer')).status).toBe(404);
  });

  test('delete removes every version; the name can be published again', async () => {
    await call('PUT', '/templates/gone', 'designer', { workflow: WORKFLOW });
    await call('PUT', '/templates/gone', 'designer', { workflow: WORKFLOW });
    expect((await call('DELETE', '/templates/gone', 'designer')).status).toBe(204);
    expect((await call('GET', '/templates/gone', 'designer')).status).toBe(404);
    expect((await call('GET', '/templates/gone@1', 'designer')).status).toBe(404);
    expect((await call('DELETE', '/templates/gone', 'designer')).status).toBe(404);
    expect((await call('GET', '/templates', 'designer')).body.templates.map((t: any) => t.name)).not.toContain('gone');
    const again = await call('PUT', '/templates/gone', 'designer', { workflow: WORKFLOW, description: 'back' });
    expect(again.status).toBe(201);
    expect((await call('GET', `/templates/gone@${again.body.version}`, 'designer')).body.description).toBe('back');
  });
});

describe('running templates', () => {
  test('a run applies the inputs over the defaults and records the template and version', async () => {
    await call('PUT', '/templates/run-me', 'designer', { workflow: WORKFLOW, inputs: BINDINGS });
    const submitted = await call('POST', '/jobs', 'artist', { template: 'run-me', inputs: { prompt: 'a dog', seed: 42 } });
    expect(submitted.status).toBe(202);
    expect(submitted.body.template).toEqual({ name: 'run-me', version: 1, inputs: { prompt: 'a dog', seed: 42 } });
    const item = (await documentClient(backend.clientConfig).send(new GetCommand({
      TableName: backend.tableName, Key: { pk: jobKey(submitted.body.id) },
    }))).Item!;
    const workflow = JSON.parse(item.workflow_json);
    expect(workflow['6'].inputs.text).toBe('a dog');
    expect(workflow['3'].inputs).toEqual({ seed: 42, steps: 20, cfg: 7.5, model: ['4', 0] });
  });

  test('a pinned version runs that version even after a newer one is published', async () => {
    await call('PUT', '/templates/pinned', 'designer', { workflow: WORKFLOW, inputs: { prompt: '6.text' } });
    await call('PUT', '/templates/pinned', 'designer', { workflow: WORKFLOW, inputs: { text: '6.text' } });
    const run = await call('POST', '/jobs', 'artist', { template: 'pinned@1', inputs: { prompt: 'x' } });
    expect(run.status).toBe(202);
    expect(run.body.template.version).toBe(1);
  });

  test('bad runs are 400s naming the input or template', async () => {
    const unknown = await call('POST', '/jobs', 'artist', { template: 'run-me', inputs: { colour: 'red' } });
    expect(unknown.body.error).toMatchObject({ field: 'inputs.colour' });
    const outOfBounds = await call('POST', '/jobs', 'artist', { template: 'run-me', inputs: { steps: 500 } });
    expect(outOfBounds.body.error.field).toBe('inputs.steps');
    const mistyped = await call('POST', '/jobs', 'artist', { template: 'run-me', inputs: { seed: 'abc' } });
    expect(mistyped.body.error.field).toBe('inputs.seed');
    const missing = await call('POST', '/jobs', 'artist', { template: 'nope' });
    expect(missing.status).toBe(400);
    expect(missing.body.error.field).toBe('template');
  });
});
