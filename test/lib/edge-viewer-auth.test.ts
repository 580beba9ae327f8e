import * as nodeCrypto from 'node:crypto';
import * as vm from 'node:vm';
import { describe, expect, test } from 'vitest';
import { issueCredential, userKey } from '../../lib/edge/credentials';
import { issueSessionKey, SESSION_KEY_NAME } from '../../lib/edge/session-key';
import { MAX_FUNCTION_CODE_BYTES, readViewerAuthSource } from '../../lib/edge/viewer-auth-source';
import { IDENTITY_HEADER, JOBS_API_PATH_PATTERN, JOBS_API_PREFIX } from '../../lib/jobs/contract';
import { KvsState, PAYLOAD_HASH_HEADER, testViewerAuthVectors, viewerAuthVectors } from './edge-vectors';

/**
 * Runs lib/edge/viewer-auth.js, the file CloudFront gets, in a bare node:vm context: no Buffer, atob, timers or
 * require, only the two modules cloudfront-js-2.0 offers, shimmed. Its two `import` lines are the only text
 * rewritten (vm scripts cannot import), and the test below proves they are the only imports. The vectors are
 * shared with edge-viewer-auth.njs.test.ts, which runs the same file under njs, the engine CloudFront's derives from.
 */
const IMPORT_LINE = /^import (\w+) from '([^']+)';$/gm;

/** The documented surface of cloudfront-js-2.0's crypto module, backed by Node's (same API). */
const DIGESTS = ['md5', 'sha1', 'sha256'];
const ENCODINGS = ['hex', 'base64', 'base64url'];

function digester(hashOrHmac: nodeCrypto.Hash | nodeCrypto.Hmac) {
  const wrapper = {
    update(data: string) {
      hashOrHmac.update(data);
      return wrapper;
    },
    digest(encoding: 'hex' | 'base64' | 'base64url') {
      if (!ENCODINGS.includes(encoding)) throw new Error(`unsupported encoding ${encoding}`);
      return hashOrHmac.digest(encoding);
    },
  };
  return wrapper;
}

const cryptoModule = {
  createHash(algorithm: string) {
    if (!DIGESTS.includes(algorithm)) throw new Error(`unsupported algorithm ${algorithm}`);
    return digester(nodeCrypto.createHash(algorithm));
  },
  createHmac(algorithm: string, key: string) {
    if (!DIGESTS.includes(algorithm)) throw new Error(`unsupported algorithm ${algorithm}`);
    if (typeof key !== 'string') throw new Error('the key must be a string here, as the function passes it');
    return digester(nodeCrypto.createHmac(algorithm, key));
  },
};

function cloudfrontModule(store: KvsState) {
  return {
    kvs(id?: string) {
      if (id !== undefined) throw new Error('the function must use the associated store: cf.kvs() with no id');
      return {
        // Like CloudFront's: a missing key rejects.
        async get(key: string) {
          if (store.broken) throw new Error('store unreachable');
          if (!Object.hasOwn(store.values, key)) throw new Error('Key not found');
          return store.values[key];
        },
      };
    },
  };
}

type Handler = (event: unknown) => Promise<any>;

/** `log` receives what the function passes to console.log, which CloudFront sends to CloudWatch Logs. */
function loadViewerAuth(store: KvsState, log: (...args: unknown[]) => void = () => undefined): Handler {
  const modules: Record<string, unknown> = { cloudfront: cloudfrontModule(store), crypto: cryptoModule };
  const script = readViewerAuthSource().replace(IMPORT_LINE, (_line, name, module) => `const ${name} = __modules['${module}'];`);
  const context = vm.createContext({ __modules: modules, console: { log } });
  vm.runInContext(script, context, { filename: 'viewer-auth.js' });
  return context.handler as Handler;
}

describe('the deployed source', () => {
  test('fits the 10 KB CloudFront Functions limit', () => {
    expect(Buffer.byteLength(readViewerAuthSource())).toBeLessThanOrEqual(MAX_FUNCTION_CODE_BYTES);
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
    const handler = loadViewerAuth({ values: { [userKey('alice')]: alice.storedValue }, broken: false }, (...args) => logs.push(args.join(' ')));
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
    const response = await loadViewerAuth(store, (...args) => logs.push(args))(structuredClone(signIn));
    expect(response.statusCode).toBe(307);
    expect(response.cookies['__Host-comfyui_auth'].value).toMatch(/^alice\.\d{10}\.[A-Za-z0-9_-]{43}$/);
    expect(logs).toEqual([]);
  });
});

// Each vector gets a fresh copy of the function, its own store and copies of its events (the handler edits them).
testViewerAuthVectors(viewerAuthVectors(), async (vector) => {
  const handler = loadViewerAuth(structuredClone(vector.store));
  const responses = [];
  for (const event of structuredClone(vector.events)) responses.push(await handler(event));
  return responses;
});
