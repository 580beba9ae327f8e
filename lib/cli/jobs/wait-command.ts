import { Command, Option } from 'commander';
import { EXIT } from '../cli-error';
import { EndpointOptions, withEndpointOptions } from '../comfyui/endpoint-options';
import { secondsAsMs } from '../option-parsers';
import { statusLog } from '../progress';
import { DownloadedFile, downloadOutputs } from './download-outputs';
import { getJob, openJobsApi } from './job-requests';
import { JobView } from './job-view';
import { JobsApi } from './jobs-api';
import { waitForJob } from './wait-for-job';

/** The options `jobs wait` and `jobs submit --wait` share. */
export interface WaitFlags {
  readonly out: string;
  readonly download: boolean;
  readonly timeout: number;
  readonly interval: number;
  readonly json: boolean;
  readonly quiet: boolean;
}

/** Adds --out, --no-download, --timeout, --interval, --json and --quiet. */
export function withWaitOptions(command: Command): Command {
  return command
    .option('--out <dir>', 'folder for the downloaded outputs', 'outputs')
    .option('--no-download', 'do not download the outputs')
    .addOption(new Option('--timeout <seconds>', 'stop waiting after this long (the job goes on)').default(3_600_000, '3600').argParser(secondsAsMs))
    .addOption(new Option('--interval <seconds>', 'time between status reads').default(2000, '2').argParser(secondsAsMs))
    .option('--json', 'print the finished job and the saved files as JSON', false)
    .option('--quiet', 'no progress bar or status lines', false);
}

/**
 * Follows a job to its end and downloads its outputs; prints the saved paths on stdout (or JSON), so
 * `comfyctl jobs wait ID | xargs open` works. A failed or cancelled job throws with its own exit code.
 */
export async function followJob(api: JobsApi, id: string, flags: WaitFlags): Promise<void> {
  const log = statusLog(flags.quiet);
  const job = await waitForJob({ jobId: id, getJob: () => getJob(api, id), timeoutMs: flags.timeout, intervalMs: flags.interval, quiet: flags.quiet });
  const outputs = job.outputs ?? [];
  log(`job ${id} completed${outputs.length === 0 ? ' without outputs (does the workflow have a SaveImage node?)' : ` with ${outputs.length} output(s)`}`);
  let files: DownloadedFile[] = [];
  if (flags.download && outputs.length > 0) {
    files = await downloadOutputs(outputs, {
      outDir: flags.out, jobId: id, quiet: flags.quiet, log, refresh: async () => (await getJob(api, id)).outputs ?? [],
    });
  }
  printResult(job, files, flags.json);
}

function printResult(job: JobView, files: DownloadedFile[], json: boolean): void {
  if (json) process.stdout.write(`${JSON.stringify({ job, files }, null, 2)}\n`);
  else for (const file of files) process.stdout.write(`${file.path}\n`);
}

/** `comfyctl jobs wait ID`: progress until the job ends, then its outputs. */
export function registerWaitCommand(jobs: Command): void {
  const command = withWaitOptions(jobs
    .command('wait')
    .description('follow a job to its end with a progress bar, then download its outputs')
    .argument('<id>', 'job id (from jobs submit or jobs ls)'));
  withEndpointOptions(command)
    .addHelpText('after', `
Exit codes: 0 completed, ${EXIT.execution} failed or cancelled (ComfyUI's error is printed), ${EXIT.timeout} still running at --timeout.

Examples:
  comfyctl jobs wait 6f0c2a9e-... --out renders/
  comfyctl jobs wait 6f0c2a9e-... --no-download --timeout 600`)
    .action(async (id: string, flags: WaitFlags & EndpointOptions) => {
      await followJob(openJobsApi(flags, flags.quiet), id, flags);
    });
}
