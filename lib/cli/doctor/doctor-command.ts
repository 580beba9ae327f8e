import { Command, Option } from 'commander';
import { AwsOptions } from '../aws-options';
import { CliError, EXIT } from '../cli-error';
import { EndpointOptions, withEndpointOptions } from '../comfyui/endpoint-options';
import { parseDuration } from '../models/number-options';
import { judge } from './all-checks';
import { formatVerdictLine, formatVerdictSummary } from './check-verdict';
import { gatherFacts } from './gather-facts';

interface DoctorFlags extends EndpointOptions, AwsOptions {
  readonly kubectl: string;
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly since: number;
  readonly json?: boolean;
}

const ONE_DAY_MS = 86_400_000;

/** `comfyctl doctor`: checks a live deployment from the outside in, one PASS/WARN/FAIL line each. */
export function registerDoctorCommand(program: Command): void {
  withEndpointOptions(program
    .command('doctor')
    .description('check a live deployment from the outside in: stacks (us-east-1 too), kubectl, add-ons, Karpenter, GPU nodes and their model sync, ComfyUI pods, KEDA, the job runner, ALB targets, CloudFront, outputs bucket, sync and jobs DLQs, the dashboard\'s metrics agents')
    .option('--region <region>', 'AWS region (default: the deployed region from --outputs, else AWS_REGION)')
    .addOption(new Option('--endpoint-url <url>', 'AWS endpoint override, e.g. a local emulator').env('COMFYCTL_AWS_ENDPOINT_URL'))
    .addOption(new Option('--kubectl <path>', 'kubectl binary').env('COMFYCTL_KUBECTL').default('kubectl'))
    .option('--kubeconfig <file>', "kubeconfig (default: kubectl's own: KUBECONFIG, else ~/.kube/config)")
    .option('--context <name>', 'kubeconfig context (default: the current one)')
    .addOption(new Option('--since <duration>', 'how far back to look for sync failures: 30m, 12h, 7d').argParser(parseDuration).default(ONE_DAY_MS, '24h'))
    .option('--json', 'print the verdicts as JSON'))
    .addHelpText('after', `
It reads the cdk-outputs.json and the kubeconfig of the README's deploy path. It writes one small object under
doctor/ in the outputs bucket and deletes it (HeadBucket only, with a WARN, when your role may not write).

Examples:
  $ COMFYUI_TOKEN=alice.... comfyctl doctor
  $ comfyctl doctor --json | jq '.checks[] | select(.status == "FAIL")'

Exit codes: 0 nothing failed (WARN included), 1 a check failed.`)
    .action(async (flags: DoctorFlags) => {
      const verdicts = judge(await gatherFacts(flags));
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ passed: verdicts.every((v) => v.status !== 'FAIL'), checks: verdicts }, null, 2)}\n`);
      } else {
        process.stdout.write(`${[...verdicts.map(formatVerdictLine), formatVerdictSummary(verdicts)].join('\n')}\n`);
      }
      const failures = verdicts.filter((v) => v.status === 'FAIL');
      if (failures.length > 0) {
        throw new CliError(`${failures.length} check${failures.length === 1 ? '' : 's'} failed: ${failures.map((v) => v.name).join(', ')}`, EXIT.failure);
      }
    });
}
