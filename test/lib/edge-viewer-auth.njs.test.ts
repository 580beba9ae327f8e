import { mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { describe, expect, test } from 'vitest';
import { WAKE_ORIGIN_IDS } from '../../lib/constructs/edge-distribution';
import { readViewerAuthSource, VIEWER_AUTH_SOURCE_FILE } from '../../lib/edge/viewer-auth-source';
import { njsVersion, NjsVectorResult, runVectorsUnderNjs } from '../helpers/njs-function-runner';
import { testViewerAuthVectors, viewerAuthVectors } from './edge-vectors';

/**
 * The viewer-request function, lib/edge/viewer-auth.js byte for byte, under njs (Debian's, installed by
 * scripts/njs.sh), with the vectors edge-viewer-auth.test.ts runs under Node. All vectors run in one njs process.
 *
 * What this sees that node:vm cannot: syntax and built-ins njs lacks (0.7.9 refuses for-of, destructuring, spread,
 * classes, optional catch binding; has no Array.prototype.findLast or structuredClone), njs's own crypto module,
 * its regular expressions (PCRE2, not V8's), its promises and async functions, and `handler` found as a global,
 * as a host finds it. What it cannot see: CloudFront's engine is a fork of njs, not this release, so it may support
 * syntax this njs refuses (check a failure here against the runtime 2.0 feature list, docs.aws.amazon.com/
 * AmazonCloudFront/latest/DeveloperGuide/functions-javascript-runtime-20.html) or lack modules njs has (fs,
 * process: the Node test checks the function imports only cloudfront and crypto); the real KeyValueStore, the
 * compute-utilization limit, and how CloudFront turns HTTP into the event and the answer back into HTTP.
 */
const vectors = viewerAuthVectors();

/** The function as deployed with autoscaling on: the file with its wake line filled in, in a scratch file. */
function deployedWithWake(): string {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'njs-wake-')), 'viewer-auth.js');
  writeFileSync(file, readViewerAuthSource({ wakeOriginIds: WAKE_ORIGIN_IDS }));
  return file;
}

// One njs run per variant (the file as is; as deployed with autoscaling), started by the first test that needs it. A
// failed run (njs missing, the file not loading) fails every vector's test with njs's message, where a failing
// beforeAll would report them as skipped.
const batches = new Map<boolean, Promise<Map<string, NjsVectorResult>>>();
const njsResults = (wake: boolean) => {
  if (!batches.has(wake)) {
    batches.set(wake, Promise.resolve().then(() =>
      runVectorsUnderNjs(wake ? deployedWithWake() : VIEWER_AUTH_SOURCE_FILE, vectors.filter((v) => v.wake === wake))));
  }
  return batches.get(wake)!;
};

describe('the engine is njs, not Node', () => {
  // Valid JavaScript for Node that njs 0.7 refuses at parse time.
  const PROBE = 'class Probe {}';

  test('is the njs 0.7 line the README and docs/testing.md name (Debian bookworm ships 0.7.9)', () => {
    // Another distribution's njs may accept or refuse other syntax: the probe below and the docs would need a look.
    expect(njsVersion()).toMatch(/^0\.7\.\d+$/);
  });

  test('a scratch copy of the function with one line of syntax njs lacks fails to load, and the run says why', () => {
    expect(() => new vm.Script(PROBE)).not.toThrow();
    const scratch = path.join(mkdtempSync(path.join(os.tmpdir(), 'njs-probe-')), 'viewer-auth.js');
    writeFileSync(scratch, `${readViewerAuthSource()}\n${PROBE}\n`);
    expect(() => runVectorsUnderNjs(scratch, vectors.slice(0, 1))).toThrow(/SyntaxError: Token "class" not supported/);
  });
});

testViewerAuthVectors(vectors, async (vector) => {
  const result = (await njsResults(vector.wake)).get(vector.name);
  if (!result) throw new Error(`njs returned no result for vector '${vector.name}'`);
  if (result.error !== undefined || !result.responses || !result.originGroups) throw new Error(`under njs: ${result.error}`);
  return { responses: result.responses, originGroups: result.originGroups };
});
