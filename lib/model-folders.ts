/**
 * The top-level folders of ComfyUI's `models/` directory (folder_paths.py in the pinned ComfyUI, including
 * the legacy aliases `unet`, `clip` and `t2i_adapter`). The models bucket mirrors this layout: the sync
 * Lambda ignores keys outside it, nodes copy only these prefixes, and `comfyctl models upload --type`
 * accepts exactly these names.
 */
export const MODEL_FOLDERS = [
  'audio_encoders',
  'checkpoints',
  'classifiers',
  'clip',
  'clip_vision',
  'configs',
  'controlnet',
  'diffusers',
  'diffusion_models',
  'embeddings',
  'gligen',
  'hypernetworks',
  'latent_upscale_models',
  'loras',
  'model_patches',
  'photomaker',
  'style_models',
  't2i_adapter',
  'text_encoders',
  'unet',
  'upscale_models',
  'vae',
  'vae_approx',
] as const;

export type ModelFolder = (typeof MODEL_FOLDERS)[number];

/**
 * Characters no model key may hold: the C0 and C1 control characters (NUL, tab, line feed, carriage return,
 * escape, NEL ...), DEL, and the Unicode line and paragraph separators. A node copies each key with one line
 * of an `s5cmd run` file, which s5cmd reads line by line and stops at a line it cannot parse, so a line break
 * in one key would hold back every key after it, and any of them can forge lines in logs and terminals.
 */
const UNSAFE_KEY_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** NAME_MAX of Linux filesystems (XFS, ext4): the longest file or folder name a node can store, in bytes. */
const MAX_SEGMENT_BYTES = 255;

/**
 * Why a bucket key cannot be a model file (outside the layout, a folder marker, or a path a node could not
 * store as a file below its models directory), or undefined when it is one. The node applies the same rules
 * (`model_key_problem` in lambda/model-sync/node/model_sync/keys.py; test/fixtures/model-keys.json drives
 * both test suites).
 */
export function modelKeyProblem(key: string): string | undefined {
  const segments = key.split('/');
  if (segments.length < 2 || !(MODEL_FOLDERS as readonly string[]).includes(segments[0])) {
    return `not under a ComfyUI model folder (${MODEL_FOLDERS.join(', ')})`;
  }
  if (key.endsWith('/')) return 'a folder marker, not a file';
  if (UNSAFE_KEY_CHARACTERS.test(key)) return 'contains a control character or line break';
  if (segments.some((s) => s === '' || s === '.' || s === '..')) return 'has an empty, "." or ".." path segment';
  const encoder = new TextEncoder();
  if (segments.some((s) => encoder.encode(s).length > MAX_SEGMENT_BYTES)) {
    return `has a file or folder name longer than ${MAX_SEGMENT_BYTES} bytes`;
  }
  return undefined;
}

/**
 * Keys that other keys use as a folder (`loras/foo` beside `loras/foo/bar.pt`), each with the reason: a node
 * cannot hold a file and a folder of one name. The deeper keys win, on every node alike (a file cannot hold
 * files), so these are the ones refused; `comfyctl models upload` refuses a key that would make either side.
 * The node's `clashing_keys` (model_sync/keys.py) applies the same rule.
 */
export function folderClashes(keys: Iterable<string>): Map<string, string> {
  const all = new Set(keys);
  const inside = new Map<string, string>();
  for (const key of [...all].sort()) {
    const segments = key.split('/');
    for (let depth = 1; depth < segments.length; depth++) {
      const folder = segments.slice(0, depth).join('/');
      if (all.has(folder) && !inside.has(folder)) inside.set(folder, key);
    }
  }
  return new Map([...inside].map(([folder, key]) => [folder, `is also the folder of '${key}'; a node cannot store a file and a folder of one name`]));
}

/**
 * Storage classes whose objects S3 will not GET until restored (it answers 403 InvalidObjectState)
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/restoring-objects.html). Glacier Instant Retrieval
 * reads like Standard. Intelligent-Tiering's opt-in archive tiers list as INTELLIGENT_TIERING: a node learns
 * of those from the GET.
 */
export const ARCHIVED_STORAGE_CLASSES = ['GLACIER', 'DEEP_ARCHIVE'] as const;

/** Why an object of this storage class cannot be synced to a node, or undefined (none given means STANDARD). */
export function storageClassProblem(storageClass: string | undefined): string | undefined {
  if (!storageClass || !(ARCHIVED_STORAGE_CLASSES as readonly string[]).includes(storageClass)) return undefined;
  return `is archived in ${storageClass}, which nodes cannot read: copy it back over itself with --storage-class STANDARD`;
}
