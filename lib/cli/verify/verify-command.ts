import { Command, InvalidArgumentError, Option } from 'commander';
import { BenchWorkflowFlags, DEFAULT_BENCH_PROMPTS, benchWorkflow, withBenchWorkflowOptions } from '../bench-workflow-options';
import { CliError, EXIT } from '../cli-error';
import { EndpointOptions, resolveUrl, withEndpointOptions } from '../comfyui/endpoint-options';
import { integerIn, positiveNumber, secondsAsMs } from '../option-parsers';
import { statusLog } from '../progress';
import { CHECK_NAMES, CheckName, formatCheckLine, formatSummary } from './check-result';
import { runVerify } from './run-verify';
import { DEFAULT_EFFICIENCY } from './throughput-check';

interface VerifyFlags extends EndpointOptions, BenchWorkflowFlags {
  gpus?: number;
  prompts: number;
  minSpeedup?: number;
  skip?: CheckName[];
  timeout: number;
  json: boolean;
  quiet: boolean;
}

/** A commander parser for `--skip a,b` (repeatable): known check names only, the error lists them. */
export function checkNames(raw: string, previous: CheckName[] = []): CheckName[] {
  const names = raw.split(',').map((n) => n.trim()).filter((n) => n !== '');
  const unknown = names.filter((n) => !(CHECK_NAMES as readonly string[]).includes(n));
  if (unknown.length > 0 || names.length === 0) {
    throw new InvalidArgumentError(`unknown check ${JSON.stringify(unknown[0] ?? raw)}; the checks are ${CHECK_NAMES.join(', ')}`);
  }
  return [...previous, ...(names as CheckName[])];
}

/** `comfyctl verify`: the multi-GPU acceptance checks against a node, one PASS/FAIL/SKIP line each. */
export function registerVerifyCommand(program: Command): void {
  const command = withBenchWorkflowOptions(program
    .command('verify')
    .description('run the multi-GPU acceptance checks against a node: workers, header routing, queue isolation, parallelism, RAM sharing, throughput')
    .option('--gpus <n>', 'GPUs the node must have (default: what GET /queue/all lists, at least 2)', integerIn(2, 64))
    .option('--prompts <m>', "prompts in throughput's one-GPU phase (then m x N across N GPUs)", integerIn(1, 10_000), DEFAULT_BENCH_PROMPTS)
    .addOption(new Option('--min-speedup <x>', `throughput's pass mark (default: ${DEFAULT_EFFICIENCY} x GPUs, 3.5 for 4)`).argParser(positiveNumber)))
    .option('--skip <checks>', `checks not to run, comma-separated (repeatable): ${CHECK_NAMES.join(', ')}`, checkNames)
    .addOption(new Option('--timeout <seconds>', 'limit for each round of prompts to finish').default(3_600_000, '3600').argParser(secondsAsMs))
    .option('--json', 'print a JSON report instead of the lines', false)
    .option('--quiet', 'no progress output', false);
  withEndpointOptions(command)
    .addHelpText('after', `
Checks, in order: ${CHECK_NAMES.join(', ')}. Each prints PASS, FAIL (with what to check next) or SKIP.

verify FREES EVERY GPU'S MODELS (POST /free) before the parallelism check, so that ram-sharing sees real
loads, and keeps every GPU busy for the throughput check: run it before opening the node to users.

Examples:
  kubectl -n comfyui port-forward deploy/comfyui 8188:8188 &
  comfyctl verify --url http://127.0.0.1:8188 --gpus 4 --ckpt sd_xl_base_1.0.safetensors
  comfyctl verify --url http://127.0.0.1:8188 --skip throughput --json

Exit codes: 0 no check failed, 8 a check failed, 3 unreachable, 4 unauthorized, 5 workflow rejected.`)
    .action(async (flags: VerifyFlags) => {
      const log = statusLog(flags.quiet);
      const report = await runVerify({
        endpoint: { url: resolveUrl(flags), token: flags.token },
        gpus: flags.gpus,
        prompts: flags.prompts,
        minSpeedup: flags.minSpeedup,
        ...benchWorkflow(flags),
        skip: new Set(flags.skip ?? []),
        timeoutMs: flags.timeout,
        quiet: flags.quiet,
        log,
      }, (result) => {
        if (!flags.json) process.stdout.write(`${formatCheckLine(result)}\n`);
      });
      process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatSummary(report)}\n`);
      if (!report.passed) {
        const failed = report.checks.filter((c) => c.status === 'FAIL').map((c) => c.name);
        throw new CliError(`${failed.length} check${failed.length === 1 ? '' : 's'} failed: ${failed.join(', ')}`, EXIT.checksFailed);
      }
    });
}
