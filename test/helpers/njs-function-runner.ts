import { spawnSync } from 'node:child_process';
import { accessSync, constants, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ViewerAuthVector } from '../lib/edge-vectors';

/**
 * Runs a CloudFront Function file under njs (nginx's JavaScript engine, which CloudFront Functions' runtime derives
 * from) and feeds it the edge vectors. The file runs unmodified as njs's main ES module (`-t module`), in safe mode
 * (`-u`: no `Function` constructor); its `import cf from 'cloudfront'` resolves on the module path (`-p`) to
 * test/lib/edge-njs/cloudfront.js, which brings in the harness (vector-harness.js); `import crypto from 'crypto'`
 * is njs's own crypto module, the one CloudFront's documents.
 */
const REPO = path.resolve(__dirname, '../..');
const HARNESS_DIR = path.join(REPO, 'test/lib/edge-njs');
const INSTALL_SCRIPT = 'scripts/njs.sh';

/** What the harness reports for one vector: the handler's answers, or why they could not be had. */
export interface NjsVectorResult {
  responses?: any[];
  /** Per event, the origin groups it asked for (cf.createRequestOriginGroup's arguments). */
  originGroups?: unknown[][];
  error?: string;
}

let installed: string | undefined;

/**
 * $NJS_BIN when set (it must then be executable), else the binary scripts/njs.sh installs into build/tools/njs
 * (quick when it is there already). Throws with the installer's message when njs cannot be had: these tests
 * fail rather than skip, since passing under Node alone proves nothing about CloudFront's engine.
 */
export function njsBinary(): string {
  const configured = process.env.NJS_BIN;
  if (configured) {
    try {
      accessSync(configured, constants.X_OK);
    } catch {
      throw new Error(`NJS_BIN=${configured} is not an executable file; fix it or unset it`);
    }
    return configured;
  }
  if (installed) return installed;
  const install = spawnSync('bash', [INSTALL_SCRIPT], { cwd: REPO, encoding: 'utf8', timeout: 300_000 });
  if (install.status !== 0) {
    throw new Error(`njs is needed and '${INSTALL_SCRIPT}' could not install it (exit ${install.status}):\n${install.stderr}`);
  }
  installed = install.stdout.trim();
  return installed;
}

/** The njs version the tests run on, e.g. "0.7.9". */
export function njsVersion(): string {
  return spawnSync(njsBinary(), ['-v'], { encoding: 'utf8' }).stdout.trim();
}

/**
 * Runs every vector in one njs process (one start for the batch) against `functionFile` and returns each vector's
 * result by name. Throws with njs's own output when the file does not load or the harness does not finish, for
 * example on syntax njs lacks.
 */
export function runVectorsUnderNjs(functionFile: string, vectors: readonly ViewerAuthVector[]): Map<string, NjsVectorResult> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'njs-vectors-'));
  const modules = path.join(work, 'modules');
  mkdirSync(modules);
  // njs looks a module up by its exact name, without adding `.js`.
  copyFileSync(path.join(HARNESS_DIR, 'cloudfront.js'), path.join(modules, 'cloudfront'));
  copyFileSync(path.join(HARNESS_DIR, 'vector-harness.js'), path.join(modules, 'vector-harness.js'));
  const input = path.join(work, 'vectors.json');
  const output = path.join(work, 'results.json');
  writeFileSync(input, JSON.stringify(vectors.map(({ name, store, events }) => ({ name, store, events }))));

  const run = spawnSync(njsBinary(), ['-u', '-t', 'module', '-p', modules, functionFile, input, output], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (run.status !== 0 || !existsSync(output)) {
    const why = run.error ? String(run.error) : `exit ${run.status}${run.signal ? `, signal ${run.signal}` : ''}`;
    throw new Error(`njs did not run the vectors through ${functionFile} (${why}):\n${run.stderr}${run.stdout}`);
  }
  return new Map(Object.entries(JSON.parse(readFileSync(output, 'utf8')) as Record<string, NjsVectorResult>));
}
