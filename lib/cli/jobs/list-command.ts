import { Command } from 'commander';
import { JobStatus } from '../../jobs/contract';
import { EndpointOptions, withEndpointOptions } from '../comfyui/endpoint-options';
import { integerIn } from '../option-parsers';
import { formatJobList } from './format-job';
import { openJobsApi, readJobPage } from './job-requests';
import { listJobs, parseStatuses } from './list-jobs';

interface ListFlags extends EndpointOptions {
  readonly status?: JobStatus[];
  readonly limit: number;
  readonly all: boolean;
  readonly owner?: string;
  readonly json: boolean;
}

/** `comfyctl jobs ls`: the caller's jobs, newest first. */
export function registerListCommand(jobs: Command): void {
  withEndpointOptions(jobs
    .command('ls')
    .description('list your jobs, newest first')
    .option('--status <statuses>', 'only these statuses, comma-separated, e.g. pending,in_progress', parseStatuses)
    .option('--limit <n>', 'show at most this many', integerIn(1, 100_000), 20)
    .option('--all', 'show every job (reads every page)', false)
    .option('--owner <user>', "admins: another user's jobs, or '*' for everyone's")
    .option('--json', 'print the jobs as a JSON array', false))
    .addHelpText('after', `
Examples:
  comfyctl jobs ls
  comfyctl jobs ls --status failed --limit 5
  comfyctl jobs ls --status pending,in_progress --all --json`)
    .action(async (flags: ListFlags) => {
      const api = openJobsApi(flags);
      const listing = await listJobs((path) => readJobPage(api, path), {
        statuses: flags.status, owner: flags.owner, limit: flags.all ? undefined : flags.limit,
      });
      if (flags.json) process.stdout.write(`${JSON.stringify(listing.jobs, null, 2)}\n`);
      else if (listing.jobs.length > 0) process.stdout.write(`${formatJobList(listing.jobs)}\n`);
      if (listing.jobs.length === 0) process.stderr.write(`no jobs${flags.status ? ` with status ${flags.status.join(' or ')}` : ''}\n`);
      if (listing.more) process.stderr.write(`more jobs match: raise --limit, or pass --all\n`);
    });
}
