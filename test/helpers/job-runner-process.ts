import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { JobsBackend } from './jobs-backend';
import { freeLoopbackPort, waitUntilUp } from './loopback-server';

/** The job runner (`python -m job_runner`, comfyui_image/job_runner) on loopback, for end-to-end tests. */
export interface JobRunnerProcess {
  /** Every JSON log line so far (the runner logs one per event). */
  events(name?: string): Record<string, any>[];
  /** Sends a signal to the runner itself (SIGTERM as Kubernetes does, SIGKILL as a crash). */
  signal(signal: NodeJS.Signals): void;
  /** Waits for the process to exit (after a signal). */
  exited(): Promise<void>;
  stop(): Promise<void>;
}

const IMAGE_DIR = path.join(__dirname, '..', '..', 'comfyui_image');
const PYTHON = path.join(IMAGE_DIR, '.venv', 'bin', 'python');
/** Hard bound on its life, so a crashed test run never leaves it behind. */
const MAX_LIFETIME_SECONDS = 900;

/**
 * Starts a runner against the backend's queue, table and outputs bucket in moto and the ComfyUI pods in `pods`
 * (name -> base URL; COMFYUI_PODS replaces Kubernetes discovery). Test timings (see below) unless given.
 */
export async function startJobRunner(
  backend: JobsBackend, pods: Readonly<Record<string, string>>, options: { name?: string; timings?: Record<string, string> } = {},
): Promise<JobRunnerProcess> {
  if (!existsSync(PYTHON)) {
    throw new Error(`${PYTHON} is missing: run \`npm test\` once, which creates it from comfyui_image/requirements-dev.txt`);
  }
  const port = await freeLoopbackPort();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    PYTHONUNBUFFERED: '1',
    JOBS_QUEUE_URL: backend.queueUrl,
    JOBS_TABLE_NAME: backend.tableName,
    OUTPUTS_BUCKET_NAME: backend.outputsBucket,
    AWS_REGION: backend.clientConfig.region,
    AWS_ENDPOINT_URL: backend.clientConfig.endpoint,
    AWS_ACCESS_KEY_ID: backend.clientConfig.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: backend.clientConfig.credentials.secretAccessKey,
    COMFYUI_PODS: Object.entries(pods).map(([name, url]) => `${name}=${url}`).join(','),
    RUNNER_NAME: options.name ?? 'runner-a',
    HEALTH_PORT: String(port),
    HEALTH_HOST: '127.0.0.1',
    // Roomy enough for loaded CPUs (a 0.5 s beat against a 3 s lease lost leases there), short enough that a
    // killed runner's job is taken over within a minute.
    ...(options.timings ?? { JOB_HEARTBEAT_SECONDS: '1', JOB_LEASE_SECONDS: '15', JOB_VISIBILITY_TIMEOUT_SECONDS: '30' }),
  };
  // `timeout` bounds its life even if this test process dies.
  const child: ChildProcess = spawn('timeout', ['-s', 'KILL', String(MAX_LIFETIME_SECONDS), PYTHON, '-m', 'job_runner'], {
    cwd: IMAGE_DIR, env, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let partial = '';
  child.stdout?.on('data', (d: Buffer) => {
    const text = partial + d.toString();
    const parts = text.split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitUntilUp(`http://127.0.0.1:${port}/healthz`, child, 'job runner', 60_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\n${stderr}`);
  }
  // The runner is `timeout`'s child: signal it directly, as the kubelet signals a container's process.
  const runnerPid = (): number => {
    try {
      const children = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim();
      return children ? Number(children.split(/\s+/)[0]) : child.pid!;
    } catch {
      return child.pid!;
    }
  };
  return {
    events: (name) => lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l))
      .filter((e) => name === undefined || e.event === name),
    signal: (signal) => { process.kill(runnerPid(), signal); },
    exited: () => exit,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        process.kill(runnerPid(), 'SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        await exit;
        clearTimeout(timer);
      }
    },
  };
}
