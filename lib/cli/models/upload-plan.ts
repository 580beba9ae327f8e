const MIB = 1024 * 1024;

/**
 * S3 multipart limits: parts of at least 5 MiB (except the last), at most 10,000 parts per object.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html
 */
export const MIN_PART_SIZE_MIB = 5;
export const MAX_PARTS = 10_000;

/**
 * 32 MiB parts, 8 in flight: a 7 GB SDXL checkpoint takes ~210 parts, a 24 GB Flux model ~720, well under
 * the part limit, while lib-storage buffers at most parts x concurrency = 256 MiB of memory.
 */
export const DEFAULT_PART_SIZE_MIB = 32;
export const DEFAULT_CONCURRENCY = 8;

/**
 * The part size in bytes for an object of `sizeBytes` (undefined when a download does not say): the requested
 * size, raised where needed so the object fits in 10,000 parts.
 */
export function partSizeBytes(sizeBytes: number | undefined, requestedMiB = DEFAULT_PART_SIZE_MIB): number {
  const floorMiB = Math.max(MIN_PART_SIZE_MIB, requestedMiB);
  const neededMiB = sizeBytes === undefined ? 0 : Math.ceil(sizeBytes / MAX_PARTS / MIB);
  return Math.max(floorMiB, neededMiB) * MIB;
}

/** What to do with a model whose key may already hold an object. */
export type UploadDecision =
  | { readonly action: 'upload' }
  | { readonly action: 'replace'; readonly existingSize: number }
  | { readonly action: 'skip'; readonly reason: string }
  | { readonly action: 'refuse'; readonly reason: string };

/**
 * Same size means the same model in practice (names carry versions), so a rerun skips it instead of
 * re-sending gigabytes; a different size is another model under the same name, replaced only on --force,
 * because every GPU node would then download it again.
 */
export function decideUpload(sourceSize: number | undefined, existingSize: number | undefined, force: boolean): UploadDecision {
  if (existingSize === undefined) return { action: 'upload' };
  if (force) return { action: 'replace', existingSize };
  if (sourceSize === undefined) {
    return { action: 'skip', reason: 'already in the bucket; the source does not report a size to compare (--force replaces it)' };
  }
  if (sourceSize === existingSize) return { action: 'skip', reason: 'already in the bucket with the same size' };
  return {
    action: 'refuse',
    reason: `the bucket already holds a different object there (${existingSize} bytes, this one is ${sourceSize}): ` +
      'pass --force to replace it, or upload it under another name',
  };
}

/**
 * With a `sha256` in the manifest and one recorded on the object (by an earlier verified seed), the digests
 * decide instead of the sizes: the same digest is the same file, so it is skipped without contacting the
 * source; another digest is another model under the same name, replaced only on --force.
 */
export function decideBySha256(expected: string, recorded: string, existingSize: number, force: boolean): UploadDecision {
  if (force) return { action: 'replace', existingSize };
  if (expected === recorded) return { action: 'skip', reason: 'already in the bucket with the same sha256' };
  return {
    action: 'refuse',
    reason: `the bucket already holds a different object there (sha256 ${recorded}, the manifest's is ${expected}): ` +
      'pass --force to replace it, or seed it under another name',
  };
}
