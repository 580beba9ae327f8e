import { paginateListObjectsV2 } from '@aws-sdk/client-s3';
import { Command } from 'commander';
import { withAwsOptions } from '../aws-options';
import { formatListing, groupByFolder, listingJson, ModelObject } from './model-listing';
import { modelFolder } from './model-key';
import { BucketOptions, ModelsBucket, openModelsBucket, s3Error } from './models-bucket';

export interface ListOptions extends BucketOptions {
  readonly json?: boolean;
}

export function registerListCommand(models: Command): void {
  withAwsOptions(
    models
      .command('ls')
      .description('List the models in the bucket by folder, with sizes')
      .argument('[folder]', 'a model folder, or a path inside one (checkpoints, loras/sdxl)')
      .option('--json', 'machine-readable output (sizes in bytes)')
      .option('--bucket <name>', 'models bucket (default: LambdaModelsSync.ModelsBucketName from --outputs)'),
  )
    .addHelpText('after', `
Examples:
  $ comfyctl models ls
  $ comfyctl models ls checkpoints
  $ comfyctl models ls loras/sdxl --json | jq '.folders[].objects[].key'`)
    .action(async (folder: string | undefined, options: ListOptions) => {
      await listModels(folder, options);
    });
}

/** `checkpoints` or `loras/sdxl/` as a listing prefix ending in '/'; the first segment must be a model folder. */
export function listPrefix(folder: string | undefined): string {
  if (folder === undefined || folder === '' || folder === '/') return '';
  const trimmed = folder.replace(/^\/+|\/+$/g, '');
  modelFolder(trimmed.split('/')[0], 'folder');
  return `${trimmed}/`;
}

async function listObjects(bucket: ModelsBucket, prefix: string): Promise<ModelObject[]> {
  const objects: ModelObject[] = [];
  try {
    for await (const page of paginateListObjectsV2({ client: bucket.s3 }, { Bucket: bucket.name, Prefix: prefix })) {
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined) continue;
        objects.push({ key: o.Key, size: o.Size ?? 0, lastModified: o.LastModified, storageClass: o.StorageClass });
      }
    }
  } catch (error) {
    throw s3Error(error, bucket.name);
  }
  return objects;
}

export async function listModels(folder: string | undefined, options: ListOptions): Promise<void> {
  const prefix = listPrefix(folder);
  const bucket = openModelsBucket(options);
  const folders = groupByFolder(await listObjects(bucket, prefix));
  if (options.json) {
    process.stdout.write(`${JSON.stringify(listingJson(bucket.name, prefix, folders), null, 2)}\n`);
    return;
  }
  const location = `s3://${bucket.name}/${prefix}`;
  if (folders.length === 0) {
    process.stderr.write(`no models in ${location}: add one with 'comfyctl models upload <file> --type checkpoints'\n`);
    return;
  }
  process.stdout.write(formatListing(location, folders));
}
