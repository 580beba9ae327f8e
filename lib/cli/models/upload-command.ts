import { createReadStream, statSync } from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { MODEL_FOLDERS } from '../../model-folders';
import { withAwsOptions } from '../aws-options';
import { CliError, EXIT } from '../cli-error';
import { formatBytes, startProgress } from '../progress';
import { checkKeyPlacement } from './key-placement';
import { buildModelKey } from './model-key';
import { BucketOptions, ModelsBucket, objectSize, openModelsBucket, s3Error } from './models-bucket';
import { withBucketWriteOptions } from './bucket-write-options';
import { SYNC_HINT } from './sync-hint';
import { uploadStream, UploadInterruptedError, withInterrupt } from './stream-upload';
import { decideUpload, partSizeBytes } from './upload-plan';

export interface UploadOptions extends BucketOptions {
  readonly type: string;
  readonly name?: string;
  readonly subfolder?: string;
  readonly force: boolean;
  readonly partSize: number;
  readonly concurrency: number;
  readonly quiet?: boolean;
}

export function registerUploadCommand(models: Command): void {
  withAwsOptions(withBucketWriteOptions(
    models
      .command('upload')
      .description('Upload a model file into the models bucket; the GPU nodes then sync it')
      .argument('<file>', 'local model file')
      .requiredOption('--type <folder>', `ComfyUI model folder: ${MODEL_FOLDERS.join(', ')}`)
      .option('--name <name>', 'object name inside the folder (default: the file name)')
      .option('--subfolder <path>', 'path inside the model folder, e.g. sdxl')
      .option('--force', 'replace an existing object even when its size differs', false)
  ))
    .addHelpText('after', `
Examples:
  $ comfyctl models upload ./sd_xl_base_1.0.safetensors --type checkpoints
  $ comfyctl models upload ./detail.safetensors --type loras --subfolder sdxl --name detail-v2.safetensors
  $ comfyctl models upload ./vae.safetensors --type vae --force --bucket my-models-bucket`)
    .action(async (file: string, options: UploadOptions) => {
      await uploadModelFile(file, options);
    });
}

/** The size of a regular file, or a CliError that names it. */
function localFileSize(file: string): number {
  try {
    const stat = statSync(file);
    if (!stat.isFile()) throw new CliError(`'${file}' is not a file: pass the model file itself`, EXIT.usage);
    return stat.size;
  } catch (error) {
    if (error instanceof CliError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CliError(`file '${file}' not found: check the path`, EXIT.usage);
    throw new CliError(`cannot read '${file}': ${(error as Error).message}`, EXIT.usage);
  }
}

export async function uploadModelFile(file: string, options: UploadOptions): Promise<void> {
  const size = localFileSize(file);
  const key = buildModelKey({ folder: options.type, name: options.name ?? path.basename(file), subfolder: options.subfolder });
  const bucket = openModelsBucket(options);
  const where = `s3://${bucket.name}/${key}`;
  await checkKeyPlacement(bucket, key);
  const decision = decideUpload(size, await objectSize(bucket, key), options.force);
  if (decision.action === 'skip') {
    process.stdout.write(`skipped ${where}: ${decision.reason}\n`);
    return;
  }
  if (decision.action === 'refuse') throw new CliError(`${where}: ${decision.reason}`, EXIT.validation);
  if (decision.action === 'replace') process.stderr.write(`replacing ${where} (${formatBytes(decision.existingSize)})\n`);

  const parts = await sendFile(bucket, key, file, size, options);
  process.stdout.write(`uploaded ${where} (${formatBytes(size)} in ${parts} part${parts === 1 ? '' : 's'})\n`);
  process.stderr.write(`${SYNC_HINT}\n`);
}

async function sendFile(bucket: ModelsBucket, key: string, file: string, size: number, options: UploadOptions): Promise<number> {
  const progress = startProgress({ title: `uploading ${key}`, total: size, format: formatBytes, silent: options.quiet });
  try {
    const result = await withInterrupt((signal) => uploadStream({
      bucket,
      key,
      body: createReadStream(file),
      size,
      partSizeBytes: partSizeBytes(size, options.partSize),
      concurrency: options.concurrency,
      signal,
      onProgress: (bytes) => progress.update(bytes),
    }));
    return result.parts;
  } catch (error) {
    if (error instanceof UploadInterruptedError) {
      throw new CliError(`upload of ${key} interrupted: nothing was written to s3://${bucket.name}`, 130);
    }
    if ((error as NodeJS.ErrnoException).path === file) {
      throw new CliError(`reading '${file}' failed: ${(error as Error).message}; nothing was written to the bucket`, EXIT.failure);
    }
    throw s3Error(error, bucket.name);
  } finally {
    progress.stop();
  }
}
