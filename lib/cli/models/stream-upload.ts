import { Readable } from 'node:stream';
import { ChecksumAlgorithm } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ModelsBucket } from './models-bucket';

export interface StreamUploadOptions {
  readonly bucket: ModelsBucket;
  readonly key: string;
  readonly body: Readable;
  /** Bytes the body will yield, when known: lib-storage then checks the part count before completing. */
  readonly size?: number;
  readonly partSizeBytes: number;
  /** Parts in flight at once. */
  readonly concurrency: number;
  /** Aborting it (Ctrl-C) stops the upload; no object is written. */
  readonly signal?: AbortSignal;
  /** Bytes acknowledged by S3 so far. */
  readonly onProgress?: (uploadedBytes: number) => void;
  /** User metadata (x-amz-meta-*) of the object, set when it is created, so only on a completed upload. */
  readonly metadata?: Record<string, string>;
  /**
   * The checksum S3 checks each request's body against (default: the SDK's CRC32). SHA256 makes S3 refuse a
   * part whose SHA-256 differs from the one computed here; the object then carries a SHA-256 of the whole file
   * only when it fits in one part (a multipart object's is of its parts' checksums).
   */
  readonly checksumAlgorithm?: ChecksumAlgorithm;
}

export interface StreamUploadResult {
  /** Parts sent: 1 for a single PutObject, more for a multipart upload. */
  readonly parts: number;
}

/** Thrown into the body when the signal aborts, so the upload fails the ordinary way. */
export class UploadInterruptedError extends Error {
  constructor() {
    super('upload interrupted');
    this.name = 'UploadInterruptedError';
  }
}

/**
 * Streams `body` into S3 with lib-storage: a single PutObject when it fits in one part, a multipart upload
 * otherwise. An S3 object appears only when the upload completes, so a failure can never leave half a model
 * for the nodes to copy; lib-storage aborts the multipart upload on failure so no orphaned parts are billed.
 *
 * Interruption destroys the body instead of calling `upload.abort()`: abort() settles `done()` at once while
 * parts may still be in flight, whereas a failing body makes lib-storage wait for them and then send
 * AbortMultipartUpload before `done()` rejects, so the process can exit right after.
 */
export async function uploadStream(options: StreamUploadOptions): Promise<StreamUploadResult> {
  const { bucket, key, body, signal } = options;
  if (signal?.aborted) throw new UploadInterruptedError();
  const upload = new Upload({
    client: bucket.s3,
    params: {
      Bucket: bucket.name,
      Key: key,
      Body: body,
      ContentLength: options.size,
      ...(options.metadata && { Metadata: options.metadata }),
      ...(options.checksumAlgorithm && { ChecksumAlgorithm: options.checksumAlgorithm }),
    },
    partSize: options.partSizeBytes,
    queueSize: options.concurrency,
    leavePartsOnError: false,
  });
  const parts = new Set<number>();
  upload.on('httpUploadProgress', (progress) => {
    if (progress.part !== undefined) parts.add(progress.part);
    options.onProgress?.(progress.loaded ?? 0);
  });
  const interrupt = () => body.destroy(new UploadInterruptedError());
  signal?.addEventListener('abort', interrupt, { once: true });
  try {
    await upload.done();
    return { parts: parts.size };
  } finally {
    signal?.removeEventListener('abort', interrupt);
  }
}

/**
 * An AbortSignal that fires on the first Ctrl-C while `work` runs; a second Ctrl-C kills the process as
 * usual (the listener is gone), for when the cleanup itself hangs.
 */
export async function withInterrupt<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSigint = () => {
    process.stderr.write('\ninterrupted: cleaning up the partial upload (Ctrl-C again to quit at once)\n');
    controller.abort();
  };
  process.once('SIGINT', onSigint);
  try {
    return await work(controller.signal);
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}
