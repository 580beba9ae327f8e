import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { CliError, EXIT } from '../../lib/cli/cli-error';
import { apiError, retryAfterSeconds } from '../../lib/cli/jobs/api-errors';
import { contentSha256 } from '../../lib/cli/jobs/content-sha256';
import { buildSubmitBody, parseInputAssignment, parseInputs } from '../../lib/cli/jobs/submit-request';
import { parseInputBinding, parseInputBindings } from '../../lib/cli/templates/template-inputs';
import { formatTemplateRef, parseTemplateRef, templatePath } from '../../lib/cli/templates/template-ref';

const WORKFLOW = { 3: { class_type: 'KSampler', inputs: { seed: 1 } } };

describe('the body hash CloudFront needs on POST and PUT', () => {
  test('is the hex SHA-256 of the UTF-8 bytes, known vectors included', () => {
    expect(contentSha256('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(contentSha256('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const body = JSON.stringify({ inputs: { prompt: 'un café ☕' } });
    expect(contentSha256(body)).toBe(createHash('sha256').update(Buffer.from(body, 'utf8')).digest('hex'));
    expect(contentSha256(body)).not.toBe(createHash('sha256').update(Buffer.from(body, 'latin1')).digest('hex'));
  });
});

describe('--input NAME=VALUE of jobs submit', () => {
  test('values are JSON when they parse and text otherwise', () => {
    expect(parseInputAssignment('seed=42')).toEqual(['seed', 42]);
    expect(parseInputAssignment('hires=true')).toEqual(['hires', true]);
    expect(parseInputAssignment('prompt=a cat')).toEqual(['prompt', 'a cat']);
    expect(parseInputAssignment('prompt="42"')).toEqual(['prompt', '42']);
    expect(parseInputAssignment('prompt=a=b')).toEqual(['prompt', 'a=b']);
    expect(parseInputAssignment('empty=')).toEqual(['empty', '']);
  });

  test('a missing name or a repeated one is a usage error naming it', () => {
    expect(() => parseInputAssignment('42')).toThrow(/NAME=VALUE/);
    expect(() => parseInputAssignment('=42')).toThrow(/NAME=VALUE/);
    expect(() => parseInputs(['seed=1', 'seed=2'])).toThrow(/--input seed is given twice/);
    expect(parseInputs(['seed=1', 'prompt=x'])).toEqual({ seed: 1, prompt: 'x' });
  });
});

describe('the submit body', () => {
  test('a workflow goes as it is, with the idempotency key', () => {
    expect(buildSubmitBody({ workflow: WORKFLOW as never, inputs: {}, idempotencyKey: 'k1' }))
      .toEqual({ workflow: WORKFLOW, idempotency_key: 'k1' });
  });

  test('a template goes by NAME@VERSION with its inputs and the webhook', () => {
    const body = buildSubmitBody({
      template: { name: 'portrait', version: 3 }, inputs: { seed: 4 }, webhookUrl: 'https://hooks.example.com/x', idempotencyKey: 'k2',
    });
    expect(body).toEqual({ template: 'portrait@3', inputs: { seed: 4 }, webhook_url: 'https://hooks.example.com/x', idempotency_key: 'k2' });
  });

  test('both sources, neither, inputs without a template and a bad webhook are refused', () => {
    expect(() => buildSubmitBody({ inputs: {}, idempotencyKey: 'k' })).toThrow(/either a workflow FILE or --template/);
    expect(() => buildSubmitBody({ workflow: WORKFLOW as never, template: { name: 't' }, inputs: {}, idempotencyKey: 'k' })).toThrow(/not both/);
    expect(() => buildSubmitBody({ workflow: WORKFLOW as never, inputs: { a: 1 }, idempotencyKey: 'k' })).toThrow(/use it with --template/);
  });

  test("the API's own body checks run first, naming the option: webhook URL, key format, workflow size", () => {
    expect(() => buildSubmitBody({ template: { name: 't' }, inputs: {}, webhookUrl: 'ftp://x', idempotencyKey: 'k' }))
      .toThrow(/^--webhook: webhook_url must be an https:\/\/ URL, got 'ftp:'$/);
    expect(() => buildSubmitBody({ template: { name: 't' }, inputs: {}, idempotencyKey: 'shot#1' })).toThrow(/^--idempotency-key: /);
    const huge = { 6: { class_type: 'CLIPTextEncode', inputs: { text: 'x'.repeat(310 * 1024) } } };
    expect(() => buildSubmitBody({ workflow: huge as never, inputs: {}, idempotencyKey: 'k' })).toThrow(/^FILE: workflow is \d+ bytes; at most 307200/);
  });
});

describe('template references', () => {
  test('NAME or NAME@VERSION, and the API path of each', () => {
    expect(parseTemplateRef('portrait', '--template')).toEqual({ name: 'portrait' });
    expect(parseTemplateRef('portrait@12', '--template')).toEqual({ name: 'portrait', version: 12 });
    expect(formatTemplateRef({ name: 'portrait', version: 12 })).toBe('portrait@12');
    expect(templatePath({ name: 'portrait', version: 2 })).toBe('templates/portrait@2');
    expect(templatePath({ name: 'portrait' })).toBe('templates/portrait');
  });

  test("the API's rules, as usage errors naming the option: a name, a version from 1", () => {
    expect(() => parseTemplateRef('@3', '--template')).toThrow(/^--template: Template name '' must be 1-64 letters/);
    expect(() => parseTemplateRef('a b', '--template')).toThrow(/Template name 'a b'/);
    expect(() => parseTemplateRef('portrait@0', '--template')).toThrow(/version in 'portrait@0' must be a whole number from 1/);
    expect(() => parseTemplateRef('portrait@latest', '--template')).toThrow(CliError);
  });
});

describe('--input NAME=NODE.INPUT[:MIN:MAX] of templates publish', () => {
  test('a path alone, or with one or both bounds', () => {
    expect(parseInputBinding('prompt=6.text')).toEqual(['prompt', '6.text']);
    expect(parseInputBinding('seed=3.seed:0:4294967295')).toEqual(['seed', { path: '3.seed', min: 0, max: 4294967295 }]);
    expect(parseInputBinding('cfg=3.cfg::12.5')).toEqual(['cfg', { path: '3.cfg', max: 12.5 }]);
    expect(parseInputBinding('steps=3.steps:1')).toEqual(['steps', { path: '3.steps', min: 1 }]);
  });

  test("a subgraph node id with ':' keeps it", () => {
    expect(parseInputBinding('seed=10:2.seed:0:9')).toEqual(['seed', { path: '10:2.seed', min: 0, max: 9 }]);
  });

  test('bad syntax, bounds that are not numbers or are crossed, and repeated names are refused', () => {
    expect(() => parseInputBinding('prompt')).toThrow(/NAME=NODE\.INPUT/);
    expect(() => parseInputBinding('prompt=6')).toThrow(/NAME=NODE\.INPUT/);
    expect(() => parseInputBinding('seed=3.seed:low')).toThrow(/MIN must be a number, got "low"/);
    expect(() => parseInputBinding('seed=3.seed:9:1')).toThrow(/MIN 9 is above MAX 1/);
    expect(() => parseInputBindings(['a=1.x', 'a=2.y'])).toThrow(/--input a is given twice/);
  });
});

describe('jobs API errors say what to do next', () => {
  const what = 'POST /render-api/v1/jobs';
  test('400 carries the API message and its field', () => {
    const error = apiError(what, 400, { error: { type: 'invalid_input', message: 'must be at most 100', field: 'inputs.seed' } }, {});
    expect(error.message).toContain('inputs.seed: must be at most 100');
    expect(error.exitCode).toBe(EXIT.validation);
  });

  test('404 and 409 use the hint of the call; a 404 without a JSON error points at the deployment', () => {
    expect(apiError(what, 404, { error: { message: 'no such job' } }, { notFound: 'job x not found: wrong id' }).message).toBe('job x not found: wrong id');
    expect(apiError(what, 404, '<html>Not Found</html>', { notFound: 'job x' }).message).toMatch(/is the jobs stack deployed/);
    expect(apiError(what, 409, { error: { message: 'key reused' } }, { conflict: 'pass a new --idempotency-key' }).message)
      .toBe('pass a new --idempotency-key (key reused)');
  });

  test('503 says the request was not taken and when to retry', () => {
    const error = apiError(what, 503, { error: { message: 'queue unavailable' } }, {}, 20);
    expect(error.message).toMatch(/GPU nodes are starting or the job queue is unavailable.*Retry in 20 s/);
  });

  test('Retry-After in seconds or as an HTTP date', () => {
    const now = Date.parse('2026-11-30T12:00:00Z');
    expect(retryAfterSeconds('7', now)).toBe(7);
    expect(retryAfterSeconds('Mon, 30 Nov 2026 12:00:30 GMT', now)).toBe(30);
    expect(retryAfterSeconds(null, now)).toBeUndefined();
    expect(retryAfterSeconds('soon', now)).toBeUndefined();
  });
});
