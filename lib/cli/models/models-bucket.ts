import { HeadObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { OUTPUT_KEYS, STACK_NAMES } from '../../names';
import { AwsOptions, awsClientConfig } from '../aws-options';
import { CliError, EXIT } from '../cli-error';
import { deployOutput } from '../deploy-outputs';

/** Options of every command that works on the models bucket. */
export interface BucketOptions extends AwsOptions {
  /** Models bucket; default: LambdaModelsSync.ModelsBucketName from --outputs. */
  readonly bucket?: string;
}

/** Where the models go: the bucket and a client for it, created once per command. */
export interface ModelsBucket {
  readonly name: string;
  readonly s3: S3Client;
}

export function openModelsBucket(options: BucketOptions): ModelsBucket {
  const name = options.bucket
    ?? deployOutput(options.outputs, STACK_NAMES.modelsSync, OUTPUT_KEYS.modelsBucketName, '--bucket');
  return { name, s3: new S3Client(awsClientConfig(options)) };
}

/**
 * The user metadata key (`x-amz-meta-sha256`) under which `models seed` records a model's SHA-256, set only
 * when the download matched the manifest's `sha256`. Metadata, not S3's own checksum: for a multipart upload
 * S3 keeps a SHA-256 of the parts' checksums, not of the file
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html).
 */
export const SHA256_METADATA_KEY = 'sha256';

/** What the bucket holds at a key. */
export interface StoredObject {
  readonly size: number;
  /** The verified SHA-256 a seed recorded (SHA256_METADATA_KEY), if any. */
  readonly sha256?: string;
}

/** The object at `key`, or undefined when there is none. */
export async function storedObject(bucket: ModelsBucket, key: string): Promise<StoredObject | undefined> {
  try {
    const head = await bucket.s3.send(new HeadObjectCommand({ Bucket: bucket.name, Key: key }));
    const sha256 = head.Metadata?.[SHA256_METADATA_KEY];
    return { size: head.ContentLength ?? 0, ...(sha256 ? { sha256 } : {}) };
  } catch (error) {
    if (error instanceof S3ServiceException && (error.name === 'NotFound' || error.$metadata.httpStatusCode === 404)) {
      return undefined;
    }
    throw s3Error(error, bucket.name);
  }
}

/** The size of the object at `key`, or undefined when there is none. */
export async function objectSize(bucket: ModelsBucket, key: string): Promise<number | undefined> {
  return (await storedObject(bucket, key))?.size;
}

/** An S3 failure as a CliError that says which bucket and what to check. */
export function s3Error(error: unknown, bucket: string): CliError {
  const e = error as Error & { $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  if (e.name === 'NoSuchBucket' || (status === 404 && e.name === 'NotFound')) {
    return new CliError(`bucket '${bucket}' does not exist: check --bucket, --region or the --outputs file`, EXIT.failure);
  }
  if (status === 403 || e.name === 'AccessDenied' || e.name === 'Forbidden') {
    return new CliError(
      `access to bucket '${bucket}' was denied (${e.name}): check your AWS credentials and their permissions`,
      EXIT.unauthorized,
    );
  }
  if (status === undefined) {
    return new CliError(
      `could not reach S3 for bucket '${bucket}': ${e.message}; check the network, --region and --endpoint-url`,
      EXIT.unreachable,
    );
  }
  return new CliError(`S3 call on bucket '${bucket}' failed: ${e.name}: ${e.message}`, EXIT.failure);
}
