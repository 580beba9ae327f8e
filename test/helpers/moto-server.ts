import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freeLoopbackPort, waitUntilUp } from './loopback-server';

/** A moto server (real AWS API emulator) on loopback, started and stopped by the test that needs it. */
export interface MotoServer {
  readonly endpoint: string;
  /** Every request moto received, from its request recorder (MOTO_ENABLE_RECORDING). */
  recordedRequests(): RecordedRequest[];
  stop(): Promise<void>;
}

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** The JSON bodies of the recorded calls to one JSON-protocol operation, e.g. 'AmazonSSM.SendCommand'. */
export function recordedCalls(server: MotoServer, target: string): any[] {
  return server.recordedRequests()
    .filter((r) => Object.entries(r.headers).some(([k, v]) => k.toLowerCase() === 'x-amz-target' && v === target))
    .map((r) => JSON.parse(r.body));
}

const MOTO = path.join(__dirname, '..', '..', '.venv', 'bin', 'moto_server');
/** Hard upper bound on the server's life, so a crashed test run can never leave it behind. */
const MAX_LIFETIME_SECONDS = 900;

export async function startMotoServer(): Promise<MotoServer> {
  if (!existsSync(MOTO)) {
    throw new Error(`${MOTO} is missing: run \`npm test\` once, which creates .venv from tools/requirements.txt`);
  }
  const port = await freeLoopbackPort();
  const endpoint = `http://127.0.0.1:${port}`;
  const recording = path.join(mkdtempSync(path.join(os.tmpdir(), 'moto-')), 'recording.jsonl');
  const child = spawn('timeout', [String(MAX_LIFETIME_SECONDS), MOTO, '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, MOTO_ENABLE_RECORDING: 'True', MOTO_RECORDER_FILEPATH: recording },
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  try {
    await waitUntilUp(`${endpoint}/moto-api/data.json`, child, 'moto_server', 30_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\n${stderr}`);
  }
  return {
    endpoint,
    recordedRequests: () => {
      if (!existsSync(recording)) return [];
      return readFileSync(recording, 'utf8').split('\n').filter((l) => l !== '').map((l) => {
        const entry = JSON.parse(l);
        const body = entry.body_encoded ? Buffer.from(entry.body, 'base64').toString('utf8') : (entry.body ?? '');
        return { method: entry.method, url: entry.url, headers: entry.headers, body };
      });
    },
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}
