import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freeLoopbackPort, waitUntilUp } from './loopback-server';

/** The multi-GPU simulator (`python -m multigpu.sim`) on loopback, for client tests. */
export interface Simulator {
  readonly url: string;
  /** Where it writes the PNGs of SaveImage nodes. */
  readonly outputDir: string;
  stop(): Promise<void>;
}

export interface SimulatorOptions {
  readonly gpus?: number;
  readonly execMs?: number;
  readonly loadMs?: number;
  /** The shared weights cache's budget (COMFY_WEIGHTS_CACHE_GIB); 0 turns it and its /metrics series off. @default the simulator's */
  readonly weightsCacheGib?: number;
  /**
   * COMFY_MULTI_GPU_EXECUTOR: one process (`thread`) or the front over one simulated stock ComfyUI per GPU (`process`).
   * @default process.env.COMFY_TEST_EXECUTOR, else 'thread'
   */
  readonly executor?: 'thread' | 'process';
}

/** The executor a test gets when it does not choose: COMFY_TEST_EXECUTOR, so a suite can run once per mode. */
export function defaultExecutor(env: NodeJS.ProcessEnv = process.env): 'thread' | 'process' {
  const value = env.COMFY_TEST_EXECUTOR ?? 'thread';
  if (value !== 'thread' && value !== 'process') {
    throw new Error(`COMFY_TEST_EXECUTOR must be thread or process, got '${value}'`);
  }
  return value;
}

const IMAGE_DIR = path.join(__dirname, '..', '..', 'comfyui_image');
const PYTHON = path.join(IMAGE_DIR, '.venv', 'bin', 'python');
/** Hard bound on its life, so a crashed test run never leaves it behind. */
const MAX_LIFETIME_SECONDS = 600;

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  if (!existsSync(PYTHON)) {
    throw new Error(`${PYTHON} is missing: run \`npm test\` once, which creates it from comfyui_image/requirements-dev.txt`);
  }
  const port = await freeLoopbackPort();
  const outputDir = mkdtempSync(path.join(os.tmpdir(), 'sim-output-'));
  const executor = options.executor ?? defaultExecutor();
  const args = [
    String(MAX_LIFETIME_SECONDS), PYTHON, '-m', 'multigpu.sim', '--host', '127.0.0.1', '--port', String(port),
    '--gpus', String(options.gpus ?? 4), '--exec-ms', String(options.execMs ?? 200),
    '--load-ms', String(options.loadMs ?? 0), '--warmup-ms', '0', '--output-dir', outputDir,
    ...(options.weightsCacheGib === undefined ? [] : ['--weights-cache-gib', String(options.weightsCacheGib)]),
    '--executor', executor,
  ];
  const child: ChildProcess = spawn('timeout', args, { cwd: IMAGE_DIR, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  const url = `http://127.0.0.1:${port}`;
  try {
    // Process mode starts a Python process per GPU: seconds each on a busy 2-core runner.
    await waitUntilUp(`${url}/readyz`, child, 'simulator', executor === 'process' ? 60_000 : 20_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\n${stderr}`);
  }
  return {
    url,
    outputDir,
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}
