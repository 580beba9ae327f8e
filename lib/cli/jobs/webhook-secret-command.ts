import { Command } from 'commander';
import { JOBS } from '../../jobs/contract';
import { EndpointOptions, withEndpointOptions } from '../comfyui/endpoint-options';
import { openJobsApi, webhookSecret } from './job-requests';

/** `comfyctl jobs webhook-secret [--rotate]`: the key your webhook receiver checks signatures with. */
export function registerWebhookSecretCommand(jobs: Command): void {
  withEndpointOptions(jobs
    .command('webhook-secret')
    .description('print the secret that signs your job webhooks (created on first use)')
    .option('--rotate', 'replace it; the old secret stops signing at once', false))
    .action(async (flags: EndpointOptions & { rotate: boolean }) => {
      const secret = await webhookSecret(openJobsApi(flags), flags.rotate);
      // The secret alone on stdout, so SECRET=$(comfyctl jobs webhook-secret) works; the hint on stderr.
      process.stdout.write(`${secret}\n`);
      process.stderr.write(`receivers check ${JOBS.webhook.signatureHeader}: sha256=<hex HMAC-SHA256 of the raw body with this secret> ` +
        `and refuse a sent_at older than 5 minutes (docs/jobs.md, "Webhooks")${flags.rotate ? '; update your receiver now' : ''}\n`);
    });
}
