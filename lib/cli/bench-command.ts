import { Command, Option } from 'commander';
import { BenchWorkflowFlags, DEFAULT_BENCH_PROMPTS, benchWorkflow, withBenchWorkflowOptions } from './bench-workflow-options';
import { formatReport } from './comfyui/bench-report';
import { EndpointOptions, resolveUrl, withEndpointOptions } from './comfyui/endpoint-options';
import { runBench } from './comfyui/run-bench';
import { integerIn, secondsAsMs } from './option-parsers';
import { statusLog } from './progress';

interface BenchFlags extends EndpointOptions, BenchWorkflowFlags {
  gpus?: number;
  prompts: number;
  warmup: boolean;
  timeout: number;
  json: boolean;
  quiet: boolean;
}

/** `comfyctl bench`: throughput on one GPU vs spread over N, speedup, per-GPU counts, latency percentiles. */
export function registerBenchCommand(program: Command): void {
  const command = withBenchWorkflowOptions(program
    .command('bench')
    .description('benchmark a deployment: M prompts on one GPU, then M x N across N GPUs; prints throughput and speedup')
    .option('--gpus <n>', 'GPUs to spread over (default: asked from the server)', integerIn(1, 64))
    .option('--prompts <m>', 'prompts in the one-GPU phase', integerIn(1, 10_000), DEFAULT_BENCH_PROMPTS))
    .option('--no-warmup', 'skip the untimed prompt per GPU that loads the models first')
    .addOption(new Option('--timeout <seconds>', 'limit for each phase').default(3_600_000, '3600').argParser(secondsAsMs))
    .option('--json', 'print the report as JSON', false)
    .option('--quiet', 'no progress output', false);
  withEndpointOptions(command)
    .addHelpText('after', `
Examples:
  comfyctl bench --url http://127.0.0.1:8188 --gpus 4 --prompts 10
  COMFYUI_TOKEN=alice.xxxx comfyctl bench --url https://d111111abcdef8.cloudfront.net --steps 20

Every prompt gets its own seed, so ComfyUI's cache answers none of them.`)
    .action(async (flags: BenchFlags) => {
      const log = statusLog(flags.quiet);
      const report = await runBench({
        endpoint: { url: resolveUrl(flags), token: flags.token },
        gpus: flags.gpus,
        prompts: flags.prompts,
        ...benchWorkflow(flags),
        warmup: flags.warmup,
        timeoutMs: flags.timeout,
        quiet: flags.quiet,
        log,
      });
      process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
    });
}
