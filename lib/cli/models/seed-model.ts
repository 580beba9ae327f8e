import { CliError } from '../cli-error';
import { formatBytes, startProgress } from '../progress';
import { DownloadAuth, DownloadError, openDownload, remoteSize } from './http-download';
import { checkKeyPlacement } from './key-placement';
import { ModelsBucket, SHA256_METADATA_KEY, StoredObject, storedObject } from './models-bucket';
import { SeedEntry } from './seed-manifest';
import { uploadStream, UploadInterruptedError } from './stream-upload';
import { decideBySha256, decideUpload, partSizeBytes, UploadDecision } from './upload-plan';

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
 * What to do with an entry whose key holds an object: by the recorded sha256 when both sides have one, else by
 * size. An entry with a sha256 is never skipped on size alone: an object without a recorded digest (seeded
 * before the manifest had one, or by `models upload`) is downloaded again, verified and recorded.
 */
async function decideExisting(entry: SeedEntry, existing: StoredObject, settings: SeedSettings): Promise<UploadDecision> {
  if (entry.sha256 !== undefined && existing.sha256 !== undefined) {
    return decideBySha256(entry.sha256, existing.sha256, existing.size, settings.force);
  }
  const bySize = decideUpload(await remoteSize(entry.url, settings.auth), existing.size, settings.force);
  if (entry.sha256 !== undefined && bySize.action === 'skip') return { action: 'replace', existingSize: existing.size };
  return bySize;
}

/**
 * Copies one manifest entry into the bucket, streaming the download straight into a multipart upload (no
 * local disk: a seed host needs no room for 7 GB checkpoints) while hashing it. With a `sha256` in the
 * manifest, a download that does not match fails before the upload completes, so nothing is written; a match
 * is recorded on the object (SHA256_METADATA_KEY) for the next run to skip. Download, checksum and upload
 * failures become a `failed` outcome so the next entry still runs; S3 being unreachable or Ctrl-C end the
 * whole seed.
 */
export async function seedModel(entry: SeedEntry, settings: SeedSettings): Promise<SeedOutcome> {
  const { bucket, auth } = settings;
  const existing = await storedObject(bucket, entry.key);
  try {
    // A new key must not clash with a file or folder already in the bucket: nodes could not store both.
    if (existing === undefined) await checkKeyPlacement(bucket, entry.key);
    if (existing !== undefined) {
      const decision = await decideExisting(entry, existing, settings);
      if (decision.action === 'skip') return { entry, status: 'skipped', detail: decision.reason };
      if (decision.action === 'refuse') return { entry, status: 'failed', detail: decision.reason };
    }
    const download = await openDownload(entry.url, auth, settings.signal, entry.sha256);
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
        // Written at creation, but only a verified download completes the upload.
        metadata: entry.sha256 === undefined ? undefined : { [SHA256_METADATA_KEY]: entry.sha256 },
        checksumAlgorithm: 'SHA256',
      });
    } finally {
      progress.stop();
    }
    const size = download.size === undefined ? 'size not announced' : formatBytes(download.size);
    // Unverified: print the digest, for the manifest's `sha256` (and --require-sha256) next time.
    const digest = entry.sha256 === undefined ? `unchecked sha256 ${download.body.sha256}` : 'sha256 verified';
    return { entry, status: 'uploaded', detail: `${size}, ${digest}` };
  } catch (error) {
    // Ctrl-C during a HEAD or the start of a download surfaces as a fetch error: it still means stop.
    if (error instanceof UploadInterruptedError || settings.signal?.aborted) throw new UploadInterruptedError();
    const reason = error instanceof DownloadError || error instanceof CliError ? error.message : `upload failed: ${(error as Error).name}: ${(error as Error).message}`;
    return { entry, status: 'failed', detail: reason };
  }
}

/** One line for the end of the run: `2 uploaded, 1 skipped, 1 failed`. */
export function seedSummary(outcomes: readonly SeedOutcome[]): string {
  const count = (status: SeedOutcome['status']) => outcomes.filter((o) => o.status === status).length;
  return `${count('uploaded')} uploaded, ${count('skipped')} skipped, ${count('failed')} failed`;
}
