import { Command } from 'commander';
import { parseConcurrency, parsePartSizeMiB } from './number-options';
import { DEFAULT_CONCURRENCY, DEFAULT_PART_SIZE_MIB } from './upload-plan';

/** --bucket, --part-size, --concurrency and --quiet: what every command that writes models accepts. */
export function withBucketWriteOptions(command: Command): Command {
  return command
    .option('--bucket <name>', 'models bucket (default: LambdaModelsSync.ModelsBucketName from --outputs)')
    .option('--part-size <MiB>', 'multipart part size', parsePartSizeMiB, DEFAULT_PART_SIZE_MIB)
    .option('--concurrency <n>', 'parts uploaded in parallel', parseConcurrency, DEFAULT_CONCURRENCY)
    .option('--quiet', 'no progress display');
}
