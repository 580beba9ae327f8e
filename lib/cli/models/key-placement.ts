import { HeadObjectCommand, ListObjectsV2Command, S3ServiceException } from '@aws-sdk/client-s3';
import { folderClashes } from '../../model-folders';
import { CliError, EXIT } from '../cli-error';
import { ModelsBucket, s3Error } from './models-bucket';

/** The folders a key sits in below its model folder: `loras/a/b/c.pt` -> `loras/a`, `loras/a/b`. */
export function keyFolders(key: string): string[] {
  const segments = key.split('/');
  return segments.slice(2).map((_, i) => segments.slice(0, i + 2).join('/'));
}

async function exists(bucket: ModelsBucket, key: string): Promise<boolean> {
  try {
    await bucket.s3.send(new HeadObjectCommand({ Bucket: bucket.name, Key: key }));
    return true;
  } catch (error) {
    if (error instanceof S3ServiceException && (error.name === 'NotFound' || error.$metadata.httpStatusCode === 404)) {
      return false;
    }
    throw s3Error(error, bucket.name);
  }
}

/**
 * Refuses a key that would clash with what the bucket holds: an object where the key needs a folder
 * (`loras/foo` for `loras/foo/bar.pt`), or objects inside the folder the key would make a file. A node cannot
 * store both, and refuses the file (`folderClashes`, the rule the nodes apply), so such an upload would make a
 * model vanish from every node. One HEAD per folder of the key and one short listing.
 */
export async function checkKeyPlacement(bucket: ModelsBucket, key: string): Promise<void> {
  const folders = keyFolders(key);
  const files = (await Promise.all(folders.map(async (f) => ((await exists(bucket, f)) ? [f] : [])))).flat();
  let inside: string[];
  try {
    const listed = await bucket.s3.send(new ListObjectsV2Command({ Bucket: bucket.name, Prefix: `${key}/`, MaxKeys: 10 }));
    inside = (listed.Contents ?? []).map((o) => o.Key ?? '').filter((k) => !k.endsWith('/')); // folder markers are no models
  } catch (error) {
    throw s3Error(error, bucket.name);
  }
  const clashes = folderClashes([key, ...files, ...inside]);
  if (clashes.size === 0) return;
  const [file, why] = [...clashes][0];
  throw new CliError(
    `cannot upload '${key}': '${file}' ${why}. Rename one of them (comfyctl models rm removes the other)`,
    EXIT.validation,
  );
}
