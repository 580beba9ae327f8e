import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Argument, Command, Option } from 'commander';
import { withAwsOptions } from '../aws-options';
import { CliError, EXIT } from '../cli-error';
import { DEFAULT_TOKEN_HOSTS } from './http-download';
import { BucketOptions, openModelsBucket } from './models-bucket';
import { withBucketWriteOptions } from './bucket-write-options';
import { parseSeedManifest, SeedEntry } from './seed-manifest';
import { SeedOutcome, seedModel, seedSummary } from './seed-model';
import { UploadInterruptedError, withInterrupt } from './stream-upload';
import { SYNC_HINT } from './sync-hint';
import { warnOnCommandLineToken } from '../token-exposure';

/** The example manifest shipped with the repository: SDXL base 1.0 and refiner 1.0. */
export const DEFAULT_SEED_MANIFEST = path.resolve(__dirname, '..', '..', '..', 'examples', 'models-seed.json');

export interface SeedOptions extends BucketOptions {
  readonly hfToken?: string;
  readonly tokenHost: string[];
  readonly force: boolean;
  readonly requireSha256: boolean;
  readonly partSize: number;
  readonly concurrency: number;
  readonly quiet?: boolean;
}

function collectHosts(value: string, previous: string[]): string[] {
  return previous === DEFAULT_TOKEN_HOSTS ? [value] : [...previous, value];
}

export function registerSeedCommand(models: Command): void {
  warnOnCommandLineToken(withAwsOptions(withBucketWriteOptions(
    models
      .command('seed')
      .description('Copy the models a manifest lists (URL + folder) into the bucket, streaming, without local disk')
      .addArgument(new Argument('[manifest]', 'JSON manifest: {"models": [{"url", "folder", "name"?, "subfolder"?, "sha256"?}]}')
        .default(DEFAULT_SEED_MANIFEST, 'examples/models-seed.json in this repository'))
      .addOption(new Option('--hf-token <token>', 'bearer token for gated models (prefer the env variable)').env('HF_TOKEN'))
      .addOption(new Option('--token-host <host>', 'exact host (not its subdomains) that receives the token; repeat for more')
        .argParser(collectHosts).default(DEFAULT_TOKEN_HOSTS, DEFAULT_TOKEN_HOSTS.join(', ')))
      .option('--force', 'replace objects whose size (or recorded sha256) differs from the download', false)
      .option('--require-sha256', 'refuse a manifest with any entry lacking "sha256", before downloading anything', false)
  )), 'hf-token', 'hfToken', 'HF_TOKEN')
    .addHelpText('after', `
URLs must be https (plain http only for 127.0.0.1, localhost and [::1]), and so must every redirect.
An entry's optional "sha256" (64 hex digits) is checked while the file streams to S3: a mismatch writes
nothing and fails that entry, naming both digests; a match is recorded on the object (x-amz-meta-sha256).
Objects already in the bucket are skipped when their recorded sha256 equals the manifest's, or, for
entries without one, when they have the size the URL announces, so a rerun resumes. A failed download
writes nothing; the others still run and the command exits non-zero with a summary.
The token goes over https to the listed hosts only, matched exactly: not to their subdomains, and never
to a host a download redirects to (Hugging Face's CDNs, such as cdn-lfs.huggingface.co, get signed URLs).

Examples:
  $ comfyctl models seed                                   # examples/models-seed.json: SDXL base + refiner
  $ HF_TOKEN=hf_... comfyctl models seed ./studio-models.json --require-sha256
  $ comfyctl models seed ./models.json --token-host huggingface.co --token-host hf-mirror.com`)
    .action(async (manifest: string, options: SeedOptions) => {
      await seedModels(manifest, options);
    });
}

function readManifest(file: string, requireSha256: boolean): SeedEntry[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message = code === 'ENOENT'
      ? `manifest '${file}' not found: check the path (an example: ${DEFAULT_SEED_MANIFEST})`
      : `cannot read manifest '${file}': ${(error as Error).message}`;
    throw new CliError(message, EXIT.usage);
  }
  return parseSeedManifest(text, file, { requireSha256 });
}

function outcomeLine(outcome: SeedOutcome, bucket: string): string {
  const where = `s3://${bucket}/${outcome.entry.key}`;
  if (outcome.status === 'uploaded') return `uploaded ${where} (${outcome.detail})`;
  return `${outcome.status} ${where}: ${outcome.detail}`;
}

export async function seedModels(manifest: string, options: SeedOptions): Promise<void> {
  const entries = readManifest(manifest, options.requireSha256);
  const bucket = openModelsBucket(options);
  const auth = { token: options.hfToken || undefined, tokenHosts: options.tokenHost };
  const outcomes: SeedOutcome[] = [];
  try {
    await withInterrupt(async (signal) => {
      for (const entry of entries) {
        const outcome = await seedModel(entry, { ...options, bucket, auth, partSizeMiB: options.partSize, signal });
        outcomes.push(outcome);
        process.stdout.write(`${outcomeLine(outcome, bucket.name)}\n`);
      }
    });
  } catch (error) {
    if (!(error instanceof UploadInterruptedError)) throw error;
    throw new CliError(`seed interrupted after ${seedSummary(outcomes)}; the model in flight was not written`, 130);
  }
  process.stdout.write(`seed: ${seedSummary(outcomes)}\n`);
  if (outcomes.some((o) => o.status === 'uploaded')) process.stderr.write(`${SYNC_HINT}\n`);
  const failed = outcomes.filter((o) => o.status === 'failed');
  if (failed.length > 0) {
    throw new CliError(
      `${failed.length} of ${outcomes.length} models failed (${failed.map((o) => o.entry.key).join(', ')}); ` +
        'fix them and rerun: present models are skipped',
      EXIT.failure,
    );
  }
}
