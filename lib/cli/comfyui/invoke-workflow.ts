import { randomUUID } from 'node:crypto';
import { CliError, EXIT } from '../cli-error';
import { startProgress } from '../progress';
import { ComfyuiClient, ComfyuiEndpoint } from './comfyui-client';
import { followPrompt } from './follow-prompt';
import { ProgressSocket } from './progress-socket';
import { PromptTracker } from './prompt-tracker';
import { waitForGpus, WaitForGpusOptions } from './wait-for-gpus';
import { ApiWorkflow, describeNode, loadApiWorkflow } from './workflow';
import { WorkflowOverrides, applyOverrides } from './workflow-overrides';

export interface InvokeOptions {
  readonly workflowFile: string;
  readonly endpoint: ComfyuiEndpoint;
  readonly overrides: WorkflowOverrides;
  /** Where outputs are downloaded. */
  readonly outDir: string;
  readonly download: boolean;
  /** Also download `temp` outputs (PreviewImage); by default only saved outputs. */
  readonly previews: boolean;
  readonly timeoutMs: number;
  /** How long to wait for GPUs that start from zero before posting (the wake page's 503s). */
  readonly wakeTimeoutMs: number;
  /** @default real time (tests pass their own) */
  readonly clock?: WaitForGpusOptions['clock'];
  readonly quiet: boolean;
  /** Status lines for the user (stderr). */
  readonly log: (line: string) => void;
}

export interface InvokeResult {
  readonly promptId: string;
  readonly gpuId?: number;
  readonly seconds: number;
  readonly files: string[];
}

/**
 * Runs one API-format workflow: applies the overrides, opens the progress socket, queues the prompt,
 * follows it to the end (polling /history if the socket drops), and downloads its outputs.
 */
export async function invokeWorkflow(options: InvokeOptions): Promise<InvokeResult> {
  const { workflow, changes } = applyOverrides(loadApiWorkflow(options.workflowFile), options.overrides);
  for (const change of changes) options.log(`override ${change}`);
  const client = new ComfyuiClient(options.endpoint);
  // A POST never wakes GPUs (only GETs fail over to the wake page): ask first, and wait while they start.
  await waitForGpus(client, { timeoutMs: options.wakeTimeoutMs, log: options.log, clock: options.clock });
  const clientId = randomUUID();
  const started = Date.now();

  // Opened before queueing so no message of the prompt is missed.
  let socket: ProgressSocket | undefined;
  let socketProblem: string | undefined;
  try {
    socket = await ProgressSocket.open(client.websocketUrl(clientId), client.headers(), 10_000);
  } catch (error) {
    socketProblem = (error as Error).message;
  }
  let queued;
  try {
    queued = await client.queuePrompt(workflow, clientId);
  } catch (error) {
    socket?.close();
    throw error;
  }
  options.log(`queued prompt ${queued.promptId}${queued.gpuId === undefined ? '' : ` on GPU ${queued.gpuId}`}`);
  // Said only now: when queueing fails too, its error is the one that matters.
  if (socketProblem) options.log(`progress socket unavailable (${socketProblem}); polling /history instead`);

  const tracker = new PromptTracker(queued.promptId);
  const nodeCount = Object.keys(workflow).length;
  const bar = startProgress({ title: 'render', total: nodeCount, silent: options.quiet });
  try {
    await followPrompt(client, socket, tracker, {
      timeoutMs: options.timeoutMs,
      onUpdate: (t) => bar.update(t.phase === 'succeeded' ? nodeCount : t.finishedNodes.size, statusLabel(t, workflow)),
      onFallback: (reason) => options.log(`progress socket ${reason}; polling /history/${queued.promptId}`),
    });
  } finally {
    bar.stop();
  }
  failIfUnsuccessful(tracker, workflow);
  const seconds = (Date.now() - started) / 1000;
  options.log(`prompt ${queued.promptId} finished in ${seconds.toFixed(1)} s`);

  const files: string[] = [];
  if (options.download) {
    const wanted = tracker.outputFiles().filter((f) => f.type === 'output' || options.previews);
    if (wanted.length === 0) options.log('the workflow produced no saved outputs (add a SaveImage node, or pass --previews)');
    for (const file of wanted) files.push(await client.download(file, options.outDir, queued.promptId));
  }
  return { promptId: queued.promptId, gpuId: queued.gpuId, seconds, files };
}

/** `queued (3 ahead)` / `#3 KSampler 12/20`. */
export function statusLabel(tracker: PromptTracker, workflow: ApiWorkflow): string {
  if (tracker.phase === 'queued') return tracker.queueRemaining === undefined ? 'queued' : `queued (${tracker.queueRemaining} in queue)`;
  if (tracker.currentNode === undefined) return tracker.phase;
  const step = tracker.step ? ` ${tracker.step.value}/${tracker.step.max}` : '';
  return `${describeNode(workflow, tracker.currentNode)}${step}`;
}

/** An execution error names the node, its type and ComfyUI's exception; an interrupt says who can cause one. */
export function failIfUnsuccessful(tracker: PromptTracker, workflow: ApiWorkflow): void {
  if (tracker.phase === 'interrupted') {
    throw new CliError(`prompt ${tracker.promptId} was interrupted (POST /interrupt from a user, or the server stopping)`, EXIT.execution);
  }
  if (tracker.phase !== 'failed') return;
  const failure = tracker.failure;
  const where = failure?.nodeId ? ` at ${describeNode(workflow, failure.nodeId)}` : '';
  const kind = failure?.exceptionType ? `${failure.exceptionType}: ` : '';
  throw new CliError(`prompt ${tracker.promptId} failed${where}: ${kind}${failure?.message ?? 'no details'}`, EXIT.execution);
}
