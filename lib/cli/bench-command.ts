import * as path from 'node:path';
import { Command, Option } from 'commander';
import { formatReport } from './comfyui/bench-report';
import { EndpointOptions, resolveUrl, withEndpointOptions } from './comfyui/endpoint-options';
import { runBench } from './comfyui/run-bench';
import { integerIn, secondsAsMs } from './option-parsers';

/** The workflow bench runs when none is given: SDXL base text-to-image (examples/workflows). */
export const DEFAULT_BENCH_WORKFLOW = path.join(__dirname, '..', '..', 'examples', 'workflows', 'sdxl-text-to-image.json');

interface BenchFlags extends EndpointOptions {
  gpus?: number;
  prompts: number;
  workflow: string;
  ckpt?: string;
  steps?: number;
  warmup: boolean;
  timeout: number;
  json: boolean;
  quiet: boolean;
}

/** `comfyctl bench`: throughput on one GPU vs spread over N, speedup, per-GPU counts, latency percentiles. */
export function registerBenchCommand(program: Command): void {
  const command = program
    .command('bench')
    .description('benchmark a deployment: M prompts on one GPU, then M x N across N GPUs; prints throughput and speedup')
    .option('--gpus <n>', 'GPUs to spread over (default: asked from the server)', integerIn(1, 64))
    .option('--prompts <m>', 'prompts in the one-GPU phase', integerIn(1, 10_000), 10)
    .option('--workflow <file>', 'API-format workflow to run', DEFAULT_BENCH_WORKFLOW)
    .option('--ckpt <name>', 'checkpoint for the workflow\'s ckpt_name inputs')
    .option('--steps <n>', 'sampler steps', integerIn(1, 10_000))
    .option('--no-warmup', 'skip the untimed prompt per GPU that loads the models first')
    .addOption(new Option('--timeout <seconds>', 'limit for each phase').default(3_600_000, '3600').argParser(secondsAsMs))
    .option('--json', 'print the report as JSON', false)
    .option('--quiet', 'no progress output', false);
  withEndpointOptions(command)
    .addHelpText('after', `
Examples:
  comfyctl bench --url http://127.0.0.1:8188 --gpus 4 --prompts 10
  comfyctl bench --url https://d111111abcdef8.cloudfront.net --token "$COMFYUI_TOKEN" --steps 20

Every prompt gets its own seed, so ComfyUI's cache answers none of them.`)
    .action(async (flags: BenchFlags) => {
      const log = flags.quiet ? () => undefined : (line: string) => process.stderr.write(`${line}\n`);
      const report = await runBench({
        endpoint: { url: resolveUrl(flags), token: flags.token },
        gpus: flags.gpus,
        prompts: flags.prompts,
        workflowFile: flags.workflow,
        overrides: { checkpoint: flags.ckpt, steps: flags.steps },
        warmup: flags.warmup,
        timeoutMs: flags.timeout,
        quiet: flags.quiet,
        log,
      });
      process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
    });
}
