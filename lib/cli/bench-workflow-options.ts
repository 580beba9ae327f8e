import * as path from 'node:path';
import { Command } from 'commander';
import { WorkflowOverrides } from './comfyui/workflow-overrides';
import { integerIn } from './option-parsers';

/** The workflow bench and verify run when none is given: SDXL base text-to-image (examples/workflows). */
export const DEFAULT_BENCH_WORKFLOW = path.join(__dirname, '..', '..', 'examples', 'workflows', 'sdxl-text-to-image.json');

/** Prompts in bench's one-GPU phase (and verify's throughput check) when --prompts is not given. */
export const DEFAULT_BENCH_PROMPTS = 10;

export interface BenchWorkflowFlags {
  readonly workflow: string;
  readonly ckpt?: string;
  readonly steps?: number;
}

/** Adds --workflow, --ckpt and --steps: the workflow a load test repeats (each prompt with its own seed). */
export function withBenchWorkflowOptions(command: Command): Command {
  return command
    .option('--workflow <file>', 'API-format workflow to run', DEFAULT_BENCH_WORKFLOW)
    .option('--ckpt <name>', "checkpoint for the workflow's ckpt_name inputs")
    .option('--steps <n>', 'sampler steps', integerIn(1, 10_000));
}

/** The workflow file and the overrides those options ask for. */
export function benchWorkflow(flags: BenchWorkflowFlags): { workflowFile: string; overrides: WorkflowOverrides } {
  return { workflowFile: flags.workflow, overrides: { checkpoint: flags.ckpt, steps: flags.steps } };
}
