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
 * Why a bucket key cannot be a model file (outside the layout, a folder marker, or a path that would
 * escape the models directory), or undefined when it is one.
 */
export function modelKeyProblem(key: string): string | undefined {
  const segments = key.split('/');
  if (segments.length < 2 || !(MODEL_FOLDERS as readonly string[]).includes(segments[0])) {
    return `not under a ComfyUI model folder (${MODEL_FOLDERS.join(', ')})`;
  }
  if (key.endsWith('/')) return 'a folder marker, not a file';
  if (segments.some((s) => s === '' || s === '.' || s === '..')) return 'has an empty, "." or ".." path segment';
  if (key.includes('\0')) return 'contains a NUL character';
  return undefined;
}
