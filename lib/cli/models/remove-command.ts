import { DeleteObjectsCommand } from '@aws-sdk/client-s3';
import { Command } from 'commander';
import { withAwsOptions } from '../aws-options';
import { CliError, EXIT } from '../cli-error';
import { formatBytes } from '../progress';
import { checkModelKeys } from './model-key';
import { BucketOptions, objectSize, openModelsBucket, s3Error } from './models-bucket';
import { SYNC_HINT } from './sync-hint';

/** DeleteObjects takes at most 1,000 keys per request. */
const DELETE_BATCH = 1000;

export function registerRemoveCommand(models: Command): void {
  withAwsOptions(
    models
      .command('rm')
      .description('Delete models from the bucket; the GPU nodes then delete their copies')
      .argument('<key...>', "full bucket keys, folder included, e.g. checkpoints/old.safetensors ('ls --json' lists them)")
      .option('--bucket <name>', 'models bucket (default: LambdaModelsSync.ModelsBucketName from --outputs)'),
  )
    .addHelpText('after', `
Every key must exist and lie inside the model layout; otherwise nothing is deleted.

Examples:
  $ comfyctl models rm checkpoints/old.safetensors
  $ comfyctl models rm loras/a.safetensors loras/b.safetensors`)
    .action(async (keys: string[], options: BucketOptions) => {
      await removeModels(keys, options);
    });
}

export async function removeModels(requested: readonly string[], options: BucketOptions): Promise<void> {
  const keys = checkModelKeys(requested);
  const bucket = openModelsBucket(options);
  // Check every key first: a typo in the third key must not leave the first two deleted.
  const sizes = await Promise.all(keys.map((key) => objectSize(bucket, key)));
  const missing = keys.filter((_, i) => sizes[i] === undefined);
  if (missing.length > 0) {
    throw new CliError(
      `not in s3://${bucket.name}: ${missing.join(', ')}; nothing was deleted ('comfyctl models ls' lists the keys)`,
      EXIT.validation,
    );
  }
  const failed = new Map<string, string>();
  for (let i = 0; i < keys.length; i += DELETE_BATCH) {
    const batch = keys.slice(i, i + DELETE_BATCH);
    try {
      const out = await bucket.s3.send(new DeleteObjectsCommand({
        Bucket: bucket.name,
        Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
      }));
      (out.Errors ?? []).forEach((e) => failed.set(e.Key ?? '?', `${e.Code ?? 'Error'} ${e.Message ?? ''}`.trim()));
    } catch (error) {
      throw s3Error(error, bucket.name);
    }
  }
  keys.forEach((key, i) => {
    if (!failed.has(key)) process.stdout.write(`deleted s3://${bucket.name}/${key} (${formatBytes(sizes[i] ?? 0)})\n`);
  });
  if (failed.size > 0) {
    const lines = [...failed].map(([key, reason]) => `  ${key}: ${reason}`).join('\n');
    throw new CliError(`could not delete from s3://${bucket.name}:\n${lines}`, EXIT.failure);
  }
  process.stderr.write(`${SYNC_HINT}\n`);
}
