import { Command } from 'commander';
import { registerCancelCommand } from './cancel-command';
import { registerGetCommand } from './get-command';
import { registerListCommand } from './list-command';
import { registerSubmitCommand } from './submit-command';
import { registerWaitCommand } from './wait-command';
import { registerWebhookSecretCommand } from './webhook-secret-command';

/** `comfyctl jobs ...`: durable renders through the jobs API (docs/jobs.md), with the user's token. */
export function registerJobsCommands(program: Command): void {
  const jobs = program
    .command('jobs')
    .description('durable renders: submit, get, ls, cancel, wait, webhook-secret (the jobs API behind CloudFront)');
  registerSubmitCommand(jobs);
  registerGetCommand(jobs);
  registerListCommand(jobs);
  registerCancelCommand(jobs);
  registerWaitCommand(jobs);
  registerWebhookSecretCommand(jobs);
  jobs.addHelpText('after', `
Examples:
  $ comfyctl jobs submit workflow_api.json --wait --out renders/
  $ comfyctl jobs submit --template portrait --input prompt="a cat" --input seed=42
  $ comfyctl jobs ls --status in_progress
  $ comfyctl jobs wait 6f0c2a9e-... --out renders/
  $ comfyctl jobs cancel 6f0c2a9e-...`);
}
