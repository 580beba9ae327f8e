import { formatBytes, startProgress } from '../progress';
import { DownloadAuth, DownloadError, openDownload, remoteSize } from './http-download';
import { ModelsBucket, objectSize } from './models-bucket';
import { SeedEntry } from './seed-manifest';
import { uploadStream, UploadInterruptedError } from './stream-upload';
import { decideUpload, partSizeBytes } from './upload-plan';

export interface SeedSettings {
  readonly bucket: ModelsBucket;
  readonly auth: DownloadAuth;
  readonly force: boolean;
  readonly partSizeMiB: number;
  readonly concurrency: number;
  readonly quiet?: boolean;
  readonly signal?: AbortSignal;
}

export interface SeedOutcome {
  readonly entry: SeedEntry;
  readonly status: 'uploaded' | 'skipped' | 'failed';
  /** Why it was skipped or failed; the size when uploaded. */
  readonly detail: string;
}

/**
 * Copies one manifest entry into the bucket, streaming the download straight into a multipart upload (no
 * local disk: a seed host needs no room for 7 GB checkpoints). Download and upload failures become a
 * `failed` outcome so the next entry still runs; S3 being unreachable or Ctrl-C end the whole seed.
 */
export async function seedModel(entry: SeedEntry, settings: SeedSettings): Promise<SeedOutcome> {
  const { bucket, auth } = settings;
  const existing = await objectSize(bucket, entry.key);
  try {
    if (existing !== undefined) {
      const decision = decideUpload(await remoteSize(entry.url, auth), existing, settings.force);
      if (decision.action === 'skip') return { entry, status: 'skipped', detail: decision.reason };
      if (decision.action === 'refuse') return { entry, status: 'failed', detail: decision.reason };
    }
    const download = await openDownload(entry.url, auth, settings.signal);
    const progress = startProgress({
      title: `seeding ${entry.key}`,
      total: download.size ?? 0,
      format: formatBytes,
      silent: settings.quiet,
    });
    try {
      await uploadStream({
        bucket,
        key: entry.key,
        body: download.body,
        size: download.size,
        partSizeBytes: partSizeBytes(download.size, settings.partSizeMiB),
        concurrency: settings.concurrency,
        signal: settings.signal,
        onProgress: (bytes) => progress.update(bytes),
      });
    } finally {
      progress.stop();
    }
    return { entry, status: 'uploaded', detail: download.size === undefined ? 'size not announced' : formatBytes(download.size) };
  } catch (error) {
    // Ctrl-C during a HEAD or the start of a download surfaces as a fetch error: it still means stop.
    if (error instanceof UploadInterruptedError || settings.signal?.aborted) throw new UploadInterruptedError();
    const reason = error instanceof DownloadError ? error.message : `upload failed: ${(error as Error).name}: ${(error as Error).message}`;
    return { entry, status: 'failed', detail: reason };
  }
}

/** One line for the end of the run: `2 uploaded, 1 skipped, 1 failed`. */
export function seedSummary(outcomes: readonly SeedOutcome[]): string {
  const count = (status: SeedOutcome['status']) => outcomes.filter((o) => o.status === status).length;
  return `${count('uploaded')} uploaded, ${count('skipped')} skipped, ${count('failed')} failed`;
}
