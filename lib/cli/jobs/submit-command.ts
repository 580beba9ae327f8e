import { randomUUID } from 'node:crypto';
import { Command } from 'commander';
import { EndpointOptions, withEndpointOptions } from '../comfyui/endpoint-options';
import { loadApiWorkflow } from '../comfyui/workflow';
import { collect } from '../option-parsers';
import { statusLog } from '../progress';
import { parseTemplateRef } from '../templates/template-ref';
import { openJobsApi, submitJob } from './job-requests';
import { buildSubmitBody, parseInputs } from './submit-request';
import { WaitFlags, followJob, withWaitOptions } from './wait-command';

interface SubmitFlags extends EndpointOptions, WaitFlags {
  readonly template?: string;
  readonly input?: string[];
  readonly webhook?: string;
  readonly idempotencyKey?: string;
  readonly wait: boolean;
}

/** `comfyctl jobs submit FILE | --template NAME[@VERSION] --input k=v ...`: queue a durable render. */
export function registerSubmitCommand(jobs: Command): void {
  const command = withWaitOptions(jobs
    .command('submit')
    .description('queue a render as a job: an API-format workflow file, or a published template with inputs')
    .argument('[file]', 'workflow JSON in ComfyUI\'s API format ("Export (API)")')
    .option('--template <name[@version]>', 'run a published template (its latest version unless @VERSION)')
    .option('--input <name=value>', 'a template input (repeatable); JSON when it parses (42, true), else text', collect)
    .option('--webhook <url>', 'POST the finished job here, signed (see jobs webhook-secret)')
    .option('--idempotency-key <key>', 'submitting again with this key within 24 h returns the same job (default: one per run)')
    .option('--wait', 'follow the job to its end and download its outputs, like jobs wait', false));
  withEndpointOptions(command)
    .addHelpText('after', `
Prints the job id on stdout (with --wait: the saved files). Examples:
  comfyctl jobs submit workflow_api.json
  comfyctl jobs submit --template portrait@3 --input prompt="a lighthouse at dusk" --input seed=42 --wait --out renders/
  ID=$(comfyctl jobs submit workflow_api.json --webhook https://hooks.example.com/render --idempotency-key shot-042)`)
    .action(async (file: string | undefined, flags: SubmitFlags) => {
      const log = statusLog(flags.quiet);
      // One key per invocation: the client's own retries of this request can then never create a second job.
      const idempotencyKey = flags.idempotencyKey ?? randomUUID();
      const body = buildSubmitBody({
        workflow: file === undefined ? undefined : loadApiWorkflow(file),
        template: flags.template === undefined ? undefined : parseTemplateRef(flags.template, '--template'),
        inputs: parseInputs(flags.input ?? []),
        webhookUrl: flags.webhook,
        idempotencyKey,
      });
      const api = openJobsApi(flags, flags.quiet);
      const { status, body: job } = await submitJob(api, body);
      log(status === 200
        ? `idempotency key ${idempotencyKey} was used before: this is the job it created (${job.status})`
        : `submitted job ${job.id} (${job.status})${flags.wait ? '' : `; follow it with 'comfyctl jobs wait ${job.id}'`}`);
      if (flags.wait) {
        await followJob(api, job.id, flags);
        return;
      }
      process.stdout.write(flags.json ? `${JSON.stringify(job, null, 2)}\n` : `${job.id}\n`);
    });
}
