import { Command } from 'commander';
import { EndpointOptions, withEndpointOptions } from '../comfyui/endpoint-options';
import { formatJob } from './format-job';
import { getJob, openJobsApi } from './job-requests';

/** `comfyctl jobs get ID`: one job, readable or as the API's JSON view. */
export function registerGetCommand(jobs: Command): void {
  withEndpointOptions(jobs
    .command('get')
    .description('show one job: status, progress, timings, outputs, ComfyUI\'s error')
    .argument('<id>', 'job id')
    .option('--json', "print the API's job view (outputs carry 15-minute download URLs)", false))
    .action(async (id: string, flags: EndpointOptions & { json: boolean }) => {
      const job = await getJob(openJobsApi(flags), id);
      process.stdout.write(flags.json ? `${JSON.stringify(job, null, 2)}\n` : `${formatJob(job)}\n`);
    });
}
