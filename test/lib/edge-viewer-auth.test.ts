import * as nodeCrypto from 'node:crypto';
import * as vm from 'node:vm';
import { beforeEach, describe, expect, test } from 'vitest';
import { issueCredential, parseStoredCredential, userKey } from '../../lib/edge/credentials';
import { MAX_FUNCTION_CODE_BYTES, readViewerAuthSource } from '../../lib/edge/viewer-auth-source';

/**
 * Runs lib/edge/viewer-auth.js, the file CloudFront gets, in a bare node:vm context: no Buffer, atob, timers or
 * require, only the two modules cloudfront-js-2.0 offers, shimmed. Its two `import` lines are the only text
 * rewritten (vm scripts cannot import), and the test below proves they are the only imports.
 */
const IMPORT_LINE = /^import (\w+) from '([^']+)';$/gm;

interface Store {
  values: Map<string, string>;
  /** Makes every read fail, as an unreachable store would. */
  broken: boolean;
}

/** The documented surface of cloudfront-js-2.0's crypto module, backed by Node's (same API). */
const cryptoModule = {
  createHash(algorithm: string) {
    if (!['md5', 'sha1', 'sha256'].includes(algorithm)) throw new Error(`unsupported algorithm ${algorithm}`);
    const hash = nodeCrypto.createHash(algorithm);
    const wrapper = {
      update(data: string) {
        hash.update(data);
        return wrapper;
      },
      digest(encoding: 'hex' | 'base64' | 'base64url') {
        if (!['hex', 'base64', 'base64url'].includes(encoding)) throw new Error(`unsupported encoding ${encoding}`);
        return hash.digest(encoding);
      },
    };
    return wrapper;
  },
};

function cloudfrontModule(store: Store) {
  return {
    kvs(id?: string) {
      if (id !== undefined) throw new Error('the function must use the associated store: cf.kvs() with no id');
      return {
        // Like CloudFront's: a missing key rejects.
        async get(key: string) {
          if (store.broken) throw new Error('store unreachable');
          if (!store.values.has(key)) throw new Error('Key not found');
          return store.values.get(key);
        },
      };
    },
  };
}

type Handler = (event: unknown) => Promise<any>;

function loadViewerAuth(store: Store): Handler {
  const modules: Record<string, unknown> = { cloudfront: cloudfrontModule(store), crypto: cryptoModule };
  const script = readViewerAuthSource().replace(IMPORT_LINE, (_line, name, module) => `const ${name} = __modules['${module}'];`);
  const context = vm.createContext({ __modules: modules, console: { log: () => undefined } });
  vm.runInContext(script, context, { filename: 'viewer-auth.js' });
  return context.handler as Handler;
}

interface Request {
  method: string;
  uri: string;
  querystring: Record<string, { value: string }>;
  headers: Record<string, { value: string; multiValue?: { value: string }[] }>;
  cookies: Record<string, { value: string; multiValue?: { value: string }[] }>;
}

function viewerRequest(overrides: Partial<Request> = {}): { request: Request } & Record<string, unknown> {
  return {
    version: '1.0',
    context: { eventType: 'viewer-request', distributionDomainName: 'd111111abcdef8.cloudfront.net' },
    viewer: { ip: '198.51.100.7' },
    request: {
      method: 'GET',
      uri: '/',
      querystring: {},
      cookies: {},
      ...overrides,
      headers: { host: { value: 'd111111abcdef8.cloudfront.net' }, ...overrides.headers },
    },
  };
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const header = (value: string) => ({ value });
const navigation = { 'sec-fetch-mode': header('navigate') };
const upgrade = { upgrade: header('websocket'), connection: header('Upgrade'), 'sec-websocket-key': header('dGhlIHNhbXBsZSBub25jZQ==') };

const CHALLENGE = 'Basic realm="ComfyUI", charset="UTF-8"';

let store: Store;
let handler: Handler;
let alice: string;

beforeEach(() => {
  const issued = issueCredential('alice', new Date('2026-01-05T09:00:00Z'));
  alice = issued.token;
  store = { values: new Map([[userKey('alice'), issued.storedValue]]), broken: false };
  handler = loadViewerAuth(store);
});

function expectChallenge(response: any) {
  expect(response.statusCode).toBe(401);
  expect(response.headers['www-authenticate'].value).toBe(CHALLENGE);
  expect(response.headers['cache-control'].value).toBe('no-store');
  expect(JSON.stringify(response)).not.toContain(alice.split('.')[1]);
}

describe('the deployed source', () => {
  test('fits the 10 KB CloudFront Functions limit', () => {
    expect(Buffer.byteLength(readViewerAuthSource())).toBeLessThanOrEqual(MAX_FUNCTION_CODE_BYTES);
  });

  test('imports only the cloudfront and crypto modules of runtime 2.0', () => {
    const imports = [...readViewerAuthSource().matchAll(IMPORT_LINE)].map((m) => m[2]);
    expect(imports.sort()).toEqual(['cloudfront', 'crypto']);
    expect(readViewerAuthSource()).not.toMatch(/\brequire\(|\bBuffer\b|\batob\(|\bsetTimeout\(/);
  });
});

describe('requests without a valid credential are answered 401 with a Basic challenge', () => {
  test('no credential at all', async () => {
    expectChallenge(await handler(viewerRequest()));
  });

  test('a wrong secret for a real user', async () => {
    const wrong = `alice.${nodeCrypto.randomBytes(32).toString('base64url')}`;
    expectChallenge(await handler(viewerRequest({ headers: { authorization: header(`Bearer ${wrong}`) } })));
  });

  test("another user's name on a valid token", async () => {
    expectChallenge(await handler(viewerRequest({ headers: { authorization: header(basic('bob', alice)) } })));
  });

  test('a valid token after its user was removed (the store is read on every request)', async () => {
    store.values.delete(userKey('alice'));
    expectChallenge(await handler(viewerRequest({ headers: { authorization: header(`Bearer ${alice}`) } })));
  });

  test('the old token after a rotation, while the new one passes', async () => {
    const rotated = issueCredential('alice', new Date(), parseStoredCredential(store.values.get(userKey('alice'))!));
    store.values.set(userKey('alice'), rotated.storedValue);
    expectChallenge(await handler(viewerRequest({ headers: { authorization: header(`Bearer ${alice}`) } })));
    const passed = await handler(viewerRequest({ headers: { authorization: header(`Bearer ${rotated.token}`) } }));
    expect(passed.uri).toBe('/');
  });

  test('an invalid Authorization header even beside a valid cookie: the header decides', async () => {
    const event = viewerRequest({ headers: { authorization: header('Bearer nope') }, cookies: { comfyui_auth: { value: alice } } });
    expectChallenge(await handler(event));
  });

  test('a valid token when the store cannot be read', async () => {
    store.broken = true;
    expectChallenge(await handler(viewerRequest({ headers: { authorization: header(`Bearer ${alice}`) } })));
  });
});

describe('a valid credential passes, stripped before the origin', () => {
  test('Bearer token (API clients): Authorization removed, everything else forwarded', async () => {
    const event = viewerRequest({
      method: 'POST',
      uri: '/prompt',
      headers: { authorization: header(`Bearer ${alice}`), 'content-type': header('application/json') },
      cookies: { AWSALB: { value: 'sticky' } },
    });
    const forwarded = await handler(event);
    expect(forwarded.uri).toBe('/prompt');
    expect(forwarded.headers.authorization).toBeUndefined();
    expect(forwarded.headers['content-type'].value).toBe('application/json');
    expect(forwarded.headers.host.value).toBe('d111111abcdef8.cloudfront.net');
    // The ALB's stickiness cookie keeps a browser on the pod that holds its queue.
    expect(forwarded.cookies).toEqual({ AWSALB: { value: 'sticky' } });
  });

  test('a lowercase scheme and /view downloads with a query string', async () => {
    const event = viewerRequest({
      uri: '/view',
      querystring: { filename: { value: 'ComfyUI_00001_.png' }, type: { value: 'output' } },
      headers: { authorization: header(`bearer ${alice}`) },
    });
    const forwarded = await handler(event);
    expect(forwarded.uri).toBe('/view');
    expect(forwarded.querystring.filename.value).toBe('ComfyUI_00001_.png');
    expect(forwarded.headers.authorization).toBeUndefined();
  });

  test('Basic credentials from a non-browser client pass without a redirect', async () => {
    const forwarded = await handler(viewerRequest({ headers: { authorization: header(basic('alice', alice)) } }));
    expect(forwarded.uri).toBe('/');
    expect(forwarded.headers.authorization).toBeUndefined();
  });

  test('the comfyui_auth cookie alone passes and is removed; other cookies stay', async () => {
    const event = viewerRequest({ cookies: { comfyui_auth: { value: alice }, AWSALB: { value: 'sticky' } } });
    const forwarded = await handler(event);
    expect(forwarded.cookies).toEqual({ AWSALB: { value: 'sticky' } });
  });
});

describe('browsers', () => {
  test('a navigation signed in with Basic is redirected to itself, setting the cookie the WebSocket needs', async () => {
    const response = await handler(
      viewerRequest({ uri: '/', headers: { authorization: header(basic('alice', alice)), ...navigation } }),
    );
    expect(response.statusCode).toBe(307);
    expect(response.headers.location.value).toBe('/');
    expect(response.headers['cache-control'].value).toBe('no-store');
    expect(response.cookies.comfyui_auth.value).toBe(alice);
    const attributes = response.cookies.comfyui_auth.attributes.split('; ');
    expect(attributes).toEqual(expect.arrayContaining(['Path=/', 'Secure', 'HttpOnly', 'SameSite=Lax']));
  });

  test('the redirect stays on this site even for a path that starts with // or /\\', async () => {
    for (const uri of ['//evil.example/x', '/\\evil.example/x']) {
      const response = await handler(viewerRequest({ uri, headers: { authorization: header(basic('alice', alice)), ...navigation } }));
      expect(response.statusCode).toBe(307);
      expect(response.headers.location.value).toBe('/evil.example/x');
    }
  });

  test('a navigation that already carries the same cookie is not redirected again', async () => {
    const event = viewerRequest({
      headers: { authorization: header(basic('alice', alice)), ...navigation },
      cookies: { comfyui_auth: { value: alice } },
    });
    const forwarded = await handler(event);
    expect(forwarded.uri).toBe('/');
    expect(forwarded.headers.authorization).toBeUndefined();
    expect(forwarded.cookies.comfyui_auth).toBeUndefined();
  });

  test('a navigation with a query string passes on its Basic credentials instead of being redirected', async () => {
    const event = viewerRequest({
      querystring: { workflow: { value: 'a' } },
      headers: { authorization: header(basic('alice', alice)), ...navigation },
    });
    expect((await handler(event)).querystring.workflow.value).toBe('a');
  });

  test('a WebSocket upgrade with a valid cookie passes with its upgrade headers', async () => {
    const event = viewerRequest({ uri: '/ws', querystring: { clientId: { value: 'c1' } }, headers: upgrade, cookies: { comfyui_auth: { value: alice } } });
    const forwarded = await handler(event);
    expect(forwarded.uri).toBe('/ws');
    expect(forwarded.headers.upgrade.value).toBe('websocket');
    expect(forwarded.headers['sec-websocket-key']).toBeDefined();
    expect(forwarded.cookies.comfyui_auth).toBeUndefined();
  });

  test('a WebSocket upgrade with a valid Bearer token or Basic credentials passes, never redirected', async () => {
    for (const authorization of [`Bearer ${alice}`, basic('alice', alice)]) {
      const event = viewerRequest({ uri: '/ws', headers: { ...upgrade, authorization: header(authorization), 'sec-fetch-mode': header('websocket') } });
      const forwarded = await handler(event);
      expect(forwarded.uri, authorization.split(' ')[0]).toBe('/ws');
      expect(forwarded.headers.authorization).toBeUndefined();
    }
  });

  test('a WebSocket upgrade without a credential is refused', async () => {
    expectChallenge(await handler(viewerRequest({ uri: '/ws', headers: upgrade })));
  });
});

describe('malformed input is answered 401, never an exception', () => {
  const secret = 'A'.repeat(43);
  const b64 = (text: string) => Buffer.from(text, 'latin1').toString('base64');

  test.each([
    ['a Basic value that is not base64', 'Basic !!!notbase64!!!'],
    ['base64 of the wrong length', 'Basic YWxpY2U'],
    ['Basic without a colon', `Basic ${b64('alice')}`],
    ['Basic with an empty user', `Basic ${b64(':alice.' + secret)}`],
    ['Basic with an empty password', `Basic ${b64('alice:')}`],
    ['Basic decoding to non-ASCII bytes', `Basic ${b64('alice:\u00e9\u00ff' + secret)}`],
    ['a bare scheme', 'Bearer'],
    ['a scheme and spaces', 'Bearer    '],
    ['an unknown scheme', 'Digest username="alice"'],
    ['a token without a dot', `Bearer alice${secret}`],
    ['a token with an uppercase user', `Bearer Alice.${secret}`],
    ['a token with a short secret', 'Bearer alice.abc'],
    ['a token with characters outside base64url', `Bearer alice.${'+'.repeat(43)}`],
    ['a huge Bearer value', `Bearer alice.${'A'.repeat(100_000)}`],
    ['a huge Basic value', `Basic ${'QUFB'.repeat(50_000)}`],
  ])('%s', async (_name, authorization) => {
    expectChallenge(await handler(viewerRequest({ headers: { authorization: header(authorization) } })));
  });

  test('two Authorization headers', async () => {
    const both = { value: `Bearer ${alice}`, multiValue: [{ value: `Bearer ${alice}` }, { value: 'Bearer other' }] };
    expectChallenge(await handler(viewerRequest({ headers: { authorization: both } })));
  });

  test('two comfyui_auth cookies, or a huge one', async () => {
    const twice = { value: alice, multiValue: [{ value: alice }, { value: 'x' }] };
    expectChallenge(await handler(viewerRequest({ cookies: { comfyui_auth: twice } })));
    expectChallenge(await handler(viewerRequest({ cookies: { comfyui_auth: { value: 'x'.repeat(100_000) } } })));
  });

  test.each([
    ['an unknown format version', (v: string) => v.replace(/^v1/, 'v2')],
    ['a missing hash', (v: string) => v.split('$').slice(0, 2).join('$')],
    ['an uppercase hex hash', (v: string) => v.replace(/\$([0-9a-f]{64})\$/, (_m, h: string) => `$${h.toUpperCase()}$`)],
    ['a short salt', (v: string) => v.replace(/^v1\$[^$]+/, 'v1$abc')],
    ['not a credential at all', () => 'hello'],
    ['an empty value', () => ''],
    ['a huge value', (v: string) => v + '$' + 'x'.repeat(5000)],
  ])('a stored value with %s', async (_name, corrupt) => {
    store.values.set(userKey('alice'), corrupt(store.values.get(userKey('alice'))!));
    expectChallenge(await handler(viewerRequest({ headers: { authorization: header(`Bearer ${alice}`) } })));
  });

  test('an event without headers, cookies or even a request', async () => {
    expectChallenge(await handler({ request: { method: 'GET', uri: '/' } }));
    expectChallenge(await handler({}));
  });
});

describe('credentials made by the CLI module', () => {
  test('verify at the edge for many users, each only with its own token', async () => {
    const tokens = ['bob', 'carol-2', 'd_e', '0ops'].map((name) => {
      const issued = issueCredential(name, new Date());
      store.values.set(userKey(name), issued.storedValue);
      return issued.token;
    });
    for (const token of tokens) {
      expect((await handler(viewerRequest({ headers: { authorization: header(`Bearer ${token}`) } }))).uri).toBe('/');
    }
    const [bob, carol] = tokens;
    const swapped = `carol-2.${bob.split('.')[1]}`;
    expectChallenge(await handler(viewerRequest({ headers: { authorization: header(`Bearer ${swapped}`) } })));
    expect(carol).not.toBe(swapped);
  });
});
