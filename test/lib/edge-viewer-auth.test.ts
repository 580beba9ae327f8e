import { describe, expect, test } from 'vitest';
import { issueCredential, userKey } from '../../lib/edge/credentials';
import { issueSessionKey, SESSION_KEY_NAME } from '../../lib/edge/session-key';
import { MAX_FUNCTION_CODE_BYTES, readViewerAuthSource } from '../../lib/edge/viewer-auth-source';
import { IDENTITY_HEADER, JOBS_API_PATH_PATTERN, JOBS_API_PREFIX } from '../../lib/jobs/contract';
import { WAKE_ORIGIN_IDS } from '../../lib/constructs/edge-distribution';
import { IMPORT_LINE, loadViewerAuth } from '../helpers/viewer-auth-vm';
import { PAYLOAD_HASH_HEADER, testViewerAuthVectors, viewerAuthVectors } from './edge-vectors';

/**
 * The function under node:vm (test/helpers/viewer-auth-vm.ts); the vectors are shared with
 * edge-viewer-auth.njs.test.ts, which runs the same file under njs, the engine CloudFront's derives from.
 */
describe('the deployed source', () => {
  test('fits the 10 KB CloudFront Functions limit, with and without the wake origins', () => {
    expect(Buffer.byteLength(readViewerAuthSource())).toBeLessThanOrEqual(MAX_FUNCTION_CODE_BYTES);
    expect(Buffer.byteLength(readViewerAuthSource({ wakeOriginIds: WAKE_ORIGIN_IDS }))).toBeLessThanOrEqual(MAX_FUNCTION_CODE_BYTES);
  });

  test('with autoscaling, differs from the file only in the wake line, which names the ALB and the wake origins', () => {
    const file = readViewerAuthSource().split('\n');
    const deployed = readViewerAuthSource({ wakeOriginIds: WAKE_ORIGIN_IDS }).split('\n');
    const changed = deployed.filter((line, i) => line !== file[i]);
    expect(deployed).toHaveLength(file.length);
    expect(changed).toEqual(['const WAKE = ["comfyui-alb","comfyui-wake"];']);
  });

  test('refuses an origin id CloudFront would not take, naming it', () => {
    expect(() => readViewerAuthSource({ wakeOriginIds: ['comfyui-alb', 'bad id"'] })).toThrow(/bad id"/);
  });

  test('spells the identity header and the jobs API prefix as lib/jobs/contract.ts does (it cannot import them)', () => {
    const constant = (name: string) => new RegExp(`^const ${name} = '([^']*)';`, 'm').exec(readViewerAuthSource())?.[1];
    expect(constant('IDENTITY')).toBe(IDENTITY_HEADER);
    // The behaviour's path pattern without its `*`: the function checks the same requests CloudFront routes to Lambda.
    expect(constant('JOBS_API')).toBe(JOBS_API_PATH_PATTERN.replace(/\*$/, ''));
    expect(`${JOBS_API_PREFIX}/`.startsWith(constant('JOBS_API')!)).toBe(true);
    expect(constant('PAYLOAD')).toBe(PAYLOAD_HASH_HEADER);
  });

  test('imports only the cloudfront and crypto modules of runtime 2.0', () => {
    const imports = [...readViewerAuthSource().matchAll(IMPORT_LINE)].map((m) => m[2]);
    expect(imports.sort()).toEqual(['cloudfront', 'crypto']);
    expect(readViewerAuthSource()).not.toMatch(/\brequire\(|\bBuffer\b|\batob\(|\bsetTimeout\(/);
  });
});

describe('an operator can see that the session key is missing', () => {
  // CloudFront sends a function's console.log lines to CloudWatch Logs (us-east-1, /aws/cloudfront/function/<name>):
  // https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/edge-functions-logs.html
  const alice = issueCredential('alice', new Date('2026-01-05T09:00:00Z'));
  const signIn = {
    request: {
      method: 'GET',
      uri: '/',
      querystring: {},
      cookies: {},
      headers: {
        host: { value: 'd111111abcdef8.cloudfront.net' },
        'sec-fetch-mode': { value: 'navigate' },
        authorization: { value: `Basic ${Buffer.from(`alice:${alice.token}`).toString('base64')}` },
      },
    },
  };

  test('a sign-in without a session key is let through without a session, and the log names the key and the command that creates it', async () => {
    const logs: string[] = [];
    const handler = loadViewerAuth({ values: { [userKey('alice')]: alice.storedValue }, broken: false }, { log: (...args) => logs.push(args.join(' ')) });
    const response = await handler(structuredClone(signIn));
    expect(response.statusCode).toBeUndefined();
    expect(logs).toHaveLength(1);
    expect(logs[0]).toContain(SESSION_KEY_NAME);
    expect(logs[0]).toContain('comfyctl users rotate-session-key');
    expect(logs[0]).not.toContain(alice.token.split('.')[1]);
  });

  test('with a session key, the same sign-in gets its session and logs nothing', async () => {
    const logs: unknown[] = [];
    const store = { values: { [userKey('alice')]: alice.storedValue, [SESSION_KEY_NAME]: issueSessionKey(new Date()) }, broken: false };
    const response = await loadViewerAuth(store, { log: (...args) => logs.push(args) })(structuredClone(signIn));
    expect(response.statusCode).toBe(307);
    expect(response.cookies['__Host-comfyui_auth'].value).toMatch(/^alice\.\d{10}\.[A-Za-z0-9_-]{43}$/);
    expect(logs).toEqual([]);
  });
});

// Each vector gets a fresh copy of the function, its own store and copies of its events (the handler edits them).
testViewerAuthVectors(viewerAuthVectors(), async (vector) => {
  let groups: unknown[] = [];
  const handler = loadViewerAuth(structuredClone(vector.store), {
    wake: vector.wake,
    onOriginGroup: (group) => groups.push(group),
  });
  const responses = [];
  const originGroups = [];
  for (const event of structuredClone(vector.events)) {
    groups = [];
    responses.push(await handler(event));
    originGroups.push(groups);
  }
  return { responses, originGroups };
});
