import { describe, expect, test } from 'vitest';
import { readJobsApiConfig } from '../../../lambda/jobs-api/config';
import { routeRequest } from '../../../lambda/jobs-api/router';
import { refusal } from './refusal';
import { planCancel } from '../../../lib/jobs/cancel';
import { encodeCursor, parseListQuery } from '../../../lib/jobs/list-query';
import { MAX_WORKFLOW_BYTES, parseSubmitRequest, submitRequestSha256 } from '../../../lib/jobs/submit-request';

const WORKFLOW = { 1: { class_type: 'EmptyLatentImage', inputs: { width: 512 } } };
const https = { allowHttpWebhooks: false };

describe('routing', () => {
  test.each([
    ['POST', '/render-api/v1/jobs', 'submitJob', undefined],
    ['GET', '/render-api/v1/jobs', 'listJobs', undefined],
    ['GET', '/render-api/v1/jobs/abc', 'getJob', 'abc'],
    ['POST', '/render-api/v1/jobs/abc/cancel', 'cancelJob', 'abc'],
    ['PUT', '/render-api/v1/templates/portrait', 'publishTemplate', 'portrait'],
    ['GET', '/render-api/v1/templates/portrait%403', 'showTemplate', 'portrait@3'],
    ['GET', '/render-api/v1/templates/portrait@3', 'showTemplate', 'portrait@3'],
    ['DELETE', '/render-api/v1/templates/portrait', 'deleteTemplate', 'portrait'],
    ['GET', '/render-api/v1/templates', 'listTemplates', undefined],
    ['GET', '/render-api/v1/webhook-secret', 'getWebhookSecret', undefined],
    ['POST', '/render-api/v1/webhook-secret/rotate', 'rotateWebhookSecret', undefined],
    ['GET', '/render-api/v1/jobs/', 'listJobs', undefined],
  ])('%s %s is %s', (method, path, operation, param) => {
    expect(routeRequest(method, path)).toEqual(param === undefined ? { operation } : { operation, param });
  });

  test('an unknown path is 404, a known path with another method 405 naming the methods it takes', () => {
    expect(refusal(() => routeRequest('GET', '/render-api/v1/nope')).status).toBe(404);
    expect(refusal(() => routeRequest('GET', '/api/jobs')).status).toBe(404);
    const r = refusal(() => routeRequest('DELETE', '/render-api/v1/jobs/abc'));
    expect(r.status).toBe(405);
    expect(r.message).toContain('GET');
    expect(refusal(() => routeRequest('GET', '/render-api/v1/jobs/%E0%A4%A')).field).toBe('path');
  });
});

describe('submit bodies', () => {
  test('a workflow or a template reference, with the optional webhook and idempotency key', () => {
    expect(parseSubmitRequest({ workflow: WORKFLOW, webhook_url: 'https://hooks.example.com/x', idempotency_key: 'k-1' }, undefined, https))
      .toEqual({ kind: 'workflow', workflow: WORKFLOW, webhookUrl: 'https://hooks.example.com/x', idempotencyKey: 'k-1' });
    expect(parseSubmitRequest({ template: 'portrait@2', inputs: { prompt: 'x' } }, 'k-2', https))
      .toEqual({ kind: 'template', template: { name: 'portrait', version: 2 }, inputs: { prompt: 'x' }, webhookUrl: undefined, idempotencyKey: 'k-2' });
  });

  test.each([
    ['both workflow and template', { workflow: WORKFLOW, template: 'a' }, 'workflow'],
    ['neither', {}, 'workflow'],
    ['an unknown field', { workflow: WORKFLOW, priority: 1 }, 'priority'],
    ['inputs with a workflow', { workflow: WORKFLOW, inputs: {} }, 'inputs'],
    ['a template that is not a string', { template: 3 }, 'template'],
    ['inputs that are not an object', { template: 'a', inputs: 'x' }, 'inputs'],
    ['an http webhook', { workflow: WORKFLOW, webhook_url: 'http://hooks.example.com/' }, 'webhook_url'],
    ['a webhook that is no URL', { workflow: WORKFLOW, webhook_url: 'hooks' }, 'webhook_url'],
    ['a webhook to a private address', { workflow: WORKFLOW, webhook_url: 'https://169.254.169.254/latest' }, 'webhook_url'],
    ['a webhook to localhost', { workflow: WORKFLOW, webhook_url: 'https://localhost:9001/' }, 'webhook_url'],
    ['a webhook to an IPv6 loopback', { workflow: WORKFLOW, webhook_url: 'https://[::1]/' }, 'webhook_url'],
    ['a webhook with credentials', { workflow: WORKFLOW, webhook_url: 'https://u:p@hooks.example.com/' }, 'webhook_url'],
    ['an idempotency key with #', { workflow: WORKFLOW, idempotency_key: 'a#b' }, 'idempotency_key'],
    ['an idempotency key too long', { workflow: WORKFLOW, idempotency_key: 'k'.repeat(129) }, 'idempotency_key'],
    ['a body that is not an object', [WORKFLOW], 'body'],
  ])('refuses %s with 400 naming the field', (_what, body, field) => {
    const r = refusal(() => parseSubmitRequest(body, undefined, https));
    expect(r).toMatchObject({ status: 400, field });
  });

  test('http webhooks to loopback pass only where allowed (tests)', () => {
    const body = { workflow: WORKFLOW, webhook_url: 'http://127.0.0.1:8080/hook' };
    expect(parseSubmitRequest(body, undefined, { allowHttpWebhooks: true }).webhookUrl).toBe(body.webhook_url);
  });

  test('a key in both body and header must agree', () => {
    expect(refusal(() => parseSubmitRequest({ workflow: WORKFLOW, idempotency_key: 'a' }, 'b', https)).field).toBe('idempotency_key');
    expect(parseSubmitRequest({ workflow: WORKFLOW, idempotency_key: 'a' }, 'a', https).idempotencyKey).toBe('a');
  });

  test('a workflow over the item budget is 413', () => {
    const big = { 1: { class_type: 'Note', inputs: { text: 'x'.repeat(MAX_WORKFLOW_BYTES) } } };
    expect(refusal(() => parseSubmitRequest({ workflow: big }, undefined, https))).toMatchObject({ status: 413, field: 'workflow' });
  });

  test('the request hash ignores key order and the key itself, but not the content', () => {
    const a = parseSubmitRequest({ workflow: { 1: { class_type: 'A', inputs: { x: 1, y: 2 } } }, idempotency_key: 'k' }, undefined, https);
    const b = parseSubmitRequest({ workflow: { 1: { inputs: { y: 2, x: 1 }, class_type: 'A' } } }, 'other', https);
    const c = parseSubmitRequest({ workflow: { 1: { class_type: 'A', inputs: { x: 1, y: 3 } } } }, undefined, https);
    expect(submitRequestSha256(a)).toBe(submitRequestSha256(b));
    expect(submitRequestSha256(a)).not.toBe(submitRequestSha256(c));
  });
});

describe('list queries', () => {
  const alice = { user: 'alice', admin: false };
  test('defaults to the caller\'s jobs, 50 at a time; statuses and a cursor round-trip', () => {
    expect(parseListQuery({}, alice)).toEqual({ owner: 'alice', statuses: undefined, limit: 50, cursor: undefined });
    const cursor = encodeCursor({ pk: 'job#1', owner: 'alice', create_time: 5 })!;
    expect(parseListQuery({ status: 'pending,in_progress', limit: '10', cursor }, alice))
      .toEqual({ owner: 'alice', statuses: ['pending', 'in_progress'], limit: 10, cursor: { pk: 'job#1', owner: 'alice', create_time: 5 } });
    expect(encodeCursor(undefined)).toBeNull();
  });

  test.each([
    [{ status: 'running' }, 'status'], [{ limit: '0' }, 'limit'], [{ limit: '101' }, 'limit'], [{ limit: '5x' }, 'limit'],
    [{ cursor: 'e30' + '!' }, 'cursor'], [{ cursor: Buffer.from('{"pk":{"S":"x"}}').toString('base64url') }, 'cursor'],
    [{ owner: 'bob' }, 'owner'], [{ owner: '*' }, 'owner'],
  ])('refuses %j naming %s', (query, field) => {
    expect(refusal(() => parseListQuery(query, alice)).field).toBe(field);
  });

  test('admins may name any owner or everyone', () => {
    expect(parseListQuery({ owner: '*' }, { user: 'root', admin: true }).owner).toBe('*');
  });
});

test('cancel: pending is cancelled, in_progress flagged, terminal refused', () => {
  expect(planCancel('pending')).toBe('cancel');
  expect(planCancel('in_progress')).toBe('request_cancel');
  for (const s of ['completed', 'failed', 'cancelled'] as const) expect(planCancel(s)).toBe('already_terminal');
});

describe('configuration', () => {
  const env = { JOBS_TABLE_NAME: 't', JOBS_QUEUE_URL: 'q', TEMPLATES_BUCKET_NAME: 'tb', OUTPUTS_BUCKET_NAME: 'ob' };
  test('defaults: 900 s output URLs, 30 days, https webhooks only, no admins', () => {
    expect(readJobsApiConfig(env)).toMatchObject({ outputUrlSeconds: 900, retentionDays: 30, allowHttpWebhooks: false });
    expect([...readJobsApiConfig({ ...env, JOBS_ADMINS: ' root, ops ,' }).admins]).toEqual(['root', 'ops']);
  });
  test.each([
    [{ JOBS_TABLE_NAME: '' }, 'JOBS_TABLE_NAME'],
    [{ OUTPUT_URL_SECONDS: '0' }, 'OUTPUT_URL_SECONDS'],
    [{ OUTPUT_URL_SECONDS: '604801' }, 'OUTPUT_URL_SECONDS'],
    [{ JOBS_RETENTION_DAYS: 'ten' }, 'JOBS_RETENTION_DAYS'],
    [{ WEBHOOK_ALLOW_HTTP: 'yes' }, 'WEBHOOK_ALLOW_HTTP'],
  ])('%j is refused naming the variable', (override, name) => {
    expect(() => readJobsApiConfig({ ...env, ...override })).toThrow(name);
  });
});

test('a cursor from another owner\'s listing is refused naming cursor', () => {
  const cursor = encodeCursor({ pk: 'job#1', owner: 'bob', create_time: 5 })!;
  expect(refusal(() => parseListQuery({ cursor }, { user: 'alice', admin: false })).field).toBe('cursor');
});
