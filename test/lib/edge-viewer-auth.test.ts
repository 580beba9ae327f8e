import * as nodeCrypto from 'node:crypto';
import * as vm from 'node:vm';
import { describe, expect, test } from 'vitest';
import { MAX_FUNCTION_CODE_BYTES, readViewerAuthSource } from '../../lib/edge/viewer-auth-source';
import { KvsState, testViewerAuthVectors, viewerAuthVectors } from './edge-vectors';

/**
 * Runs lib/edge/viewer-auth.js, the file CloudFront gets, in a bare node:vm context: no Buffer, atob, timers or
 * require, only the two modules cloudfront-js-2.0 offers, shimmed. Its two `import` lines are the only text
 * rewritten (vm scripts cannot import), and the test below proves they are the only imports. The vectors are
 * shared with edge-viewer-auth.njs.test.ts, which runs the same file under njs, the engine CloudFront's derives from.
 */
const IMPORT_LINE = /^import (\w+) from '([^']+)';$/gm;

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

function loadViewerAuth(store: KvsState): Handler {
  const modules: Record<string, unknown> = { cloudfront: cloudfrontModule(store), crypto: cryptoModule };
  const script = readViewerAuthSource().replace(IMPORT_LINE, (_line, name, module) => `const ${name} = __modules['${module}'];`);
  const context = vm.createContext({ __modules: modules, console: { log: () => undefined } });
  vm.runInContext(script, context, { filename: 'viewer-auth.js' });
  return context.handler as Handler;
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

// Each vector gets a fresh copy of the function, its own store and copies of its events (the handler edits them).
testViewerAuthVectors(viewerAuthVectors(), async (vector) => {
  const handler = loadViewerAuth(structuredClone(vector.store));
  const responses = [];
  for (const event of structuredClone(vector.events)) responses.push(await handler(event));
  return responses;
});
