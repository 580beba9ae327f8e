import { Command } from 'commander';
import { JOBS } from '../../jobs/contract';
import { EndpointOptions, withEndpointOptions } from '../comfyui/endpoint-options';
import { cancelJob, openJobsApi } from './job-requests';

/** `comfyctl jobs cancel ID`: a pending job stops at once; a running one when its runner interrupts ComfyUI. */
export function registerCancelCommand(jobs: Command): void {
  withEndpointOptions(jobs
    .command('cancel')
    .description('cancel a job: at once while pending, within seconds while running')
    .argument('<id>', 'job id'))
    .action(async (id: string, flags: EndpointOptions) => {
      const job = await cancelJob(openJobsApi(flags), id);
      process.stdout.write(job.status === JOBS.status.cancelled
        ? `job ${id} cancelled\n`
        : `job ${id} is ${job.status}: cancel requested, its runner interrupts it within seconds ('comfyctl jobs wait ${id}' shows when it stops)\n`);
    });
}
