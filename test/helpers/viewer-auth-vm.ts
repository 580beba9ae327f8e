import * as nodeCrypto from 'node:crypto';
import * as vm from 'node:vm';
import { WAKE_ORIGIN_IDS } from '../../lib/constructs/edge-distribution';
import { readViewerAuthSource } from '../../lib/edge/viewer-auth-source';
import type { KvsState } from '../lib/edge-vectors';

/**
 * Runs lib/edge/viewer-auth.js, the file CloudFront gets, in a bare node:vm context: no Buffer, atob, timers or
 * require, only the two modules cloudfront-js-2.0 offers, shimmed. Its two `import` lines are the only text
 * rewritten (vm scripts cannot import); test/lib/edge-viewer-auth.test.ts proves they are the only imports. The
 * same file runs under njs in edge-viewer-auth.njs.test.ts.
 */
export const IMPORT_LINE = /^import (\w+) from '([^']+)';$/gm;

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

/** `onOriginGroup` receives what the function passes to cf.createRequestOriginGroup. */
function cloudfrontModule(store: KvsState, onOriginGroup: (group: unknown) => void) {
  return {
    createRequestOriginGroup(group: unknown) {
      onOriginGroup(structuredClone(group));
    },
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

export type ViewerAuthHandler = (event: unknown) => Promise<any>;

export interface LoadOptions {
  /** Receives what the function passes to console.log, which CloudFront sends to CloudWatch Logs. */
  readonly log?: (...args: unknown[]) => void;
  /** Receives what it passes to cf.createRequestOriginGroup. */
  readonly onOriginGroup?: (group: unknown) => void;
  /** The source as deployed with autoscaling on (wake origins WAKE_ORIGIN_IDS filled in). */
  readonly wake?: boolean;
}

/** A fresh copy of the function's handler over `store`. */
export function loadViewerAuth(store: KvsState, options: LoadOptions = {}): ViewerAuthHandler {
  const modules: Record<string, unknown> = {
    cloudfront: cloudfrontModule(store, options.onOriginGroup ?? (() => undefined)),
    crypto: cryptoModule,
  };
  const source = readViewerAuthSource({ wakeOriginIds: options.wake ? WAKE_ORIGIN_IDS : undefined });
  const log = options.log ?? (() => undefined);
  const script = source.replace(IMPORT_LINE, (_line, name, module) => `const ${name} = __modules['${module}'];`);
  const context = vm.createContext({ __modules: modules, console: { log } });
  vm.runInContext(script, context, { filename: 'viewer-auth.js' });
  return context.handler as ViewerAuthHandler;
}
