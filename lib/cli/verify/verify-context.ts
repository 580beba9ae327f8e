import { ComfyuiClient, ComfyuiEndpoint } from '../comfyui/comfyui-client';
import { BatchPrompt } from '../comfyui/prompt-batch';
import { PhaseOptions } from '../comfyui/run-phase';
import { ApiWorkflow } from '../comfyui/workflow';
import { WorkflowOverrides } from '../comfyui/workflow-overrides';
import { CheckName } from './check-result';
import { PrometheusSample } from './prometheus-text';

export interface VerifyOptions extends PhaseOptions {
  readonly endpoint: ComfyuiEndpoint;
  /** GPUs the node must have; undefined: whatever /queue/all lists (at least 2). */
  readonly gpus?: number;
  /** Prompts in throughput's one-GPU phase (the spread phase runs prompts x GPUs). */
  readonly prompts: number;
  /** Throughput's pass mark. @default 0.875 x GPUs (3.5 for 4) */
  readonly minSpeedup?: number;
  readonly workflowFile: string;
  readonly overrides: WorkflowOverrides;
  readonly skip: ReadonlySet<CheckName>;
}

/** One prompt pinned to a GPU, as a check submitted it. */
export interface PinnedPrompt {
  readonly gpu: number;
  readonly prompt: BatchPrompt;
}

/** What parallelism and ram-sharing both judge: one prompt per GPU at once, after POST /free, between two scrapes. */
export interface ParallelRound {
  readonly prompts: readonly PinnedPrompt[];
  /** GET /metrics before and after; undefined with the reason when the server has none. */
  readonly metrics?: { readonly before: readonly PrometheusSample[]; readonly after: readonly PrometheusSample[] };
  readonly metricsProblem?: string;
}

/** What every check after `workers` works with. */
export interface VerifyContext {
  readonly options: VerifyOptions;
  readonly client: ComfyuiClient;
  readonly gpus: number;
  /** The workflow with the next seed, so no prompt is answered from ComfyUI's cache. */
  readonly nextPrompt: () => ApiWorkflow;
  /** A client whose every call carries X-TARGET-GPU: gpu. */
  pinned(gpu: number): ComfyuiClient;
  /** The parallel round, run once for the checks that need it. */
  parallelRound(): Promise<ParallelRound>;
}
