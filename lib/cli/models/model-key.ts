import { MODEL_FOLDERS, ModelFolder, modelKeyProblem } from '../../model-folders';
import { CliError, EXIT } from '../cli-error';

/** The model folder named by `--type` (or a manifest's `folder`), or a CliError that lists the valid ones. */
export function modelFolder(type: string, option = '--type'): ModelFolder {
  if ((MODEL_FOLDERS as readonly string[]).includes(type)) return type as ModelFolder;
  const stem = type.toLowerCase().replace(/s$/, '');
  const near = stem.length >= 3 ? MODEL_FOLDERS.filter((f) => f.startsWith(stem)) : [];
  const hint = near.length > 0 ? ` (did you mean ${near.join(' or ')}?)` : '';
  throw new CliError(
    `${option} '${type}' is not a ComfyUI model folder${hint}; use one of: ${MODEL_FOLDERS.join(', ')}`,
    EXIT.validation,
  );
}

export interface ModelKeyParts {
  readonly folder: string;
  /** Object name inside the folder, e.g. the local file's basename. */
  readonly name: string;
  /** Optional path between folder and name, e.g. `sdxl` or `flux/dev`; leading/trailing slashes are dropped. */
  readonly subfolder?: string;
}

/**
 * The bucket key `<folder>[/<subfolder>]/<name>`, checked with the same rules the sync Lambda and the nodes
 * apply, so an upload never lands where the nodes would ignore it.
 */
export function buildModelKey(parts: ModelKeyParts): string {
  const folder = modelFolder(parts.folder);
  if (parts.name === '' || parts.name.includes('/')) {
    throw new CliError(`--name '${parts.name}' must be a file name without '/': put folders in --subfolder`, EXIT.validation);
  }
  const subfolder = (parts.subfolder ?? '').replace(/^\/+|\/+$/g, '');
  const key = [folder, subfolder, parts.name].filter((s) => s !== '').join('/');
  const problem = modelKeyProblem(key);
  if (problem) throw new CliError(`the model key '${key}' is ${problem}: fix --name or --subfolder`, EXIT.validation);
  return key;
}

/** Unique keys in the order given, or a CliError naming every key outside the model layout. */
export function checkModelKeys(keys: readonly string[]): string[] {
  const unique = [...new Set(keys)];
  const bad = unique.map((key) => ({ key, problem: modelKeyProblem(key) })).filter((k) => k.problem !== undefined);
  if (bad.length > 0) {
    const lines = bad.map((b) => `  '${b.key}': ${b.problem}`).join('\n');
    throw new CliError(
      `${bad.length === 1 ? 'this key is' : 'these keys are'} outside the model layout, nothing was changed:\n${lines}\n` +
        "keys look like 'checkpoints/model.safetensors'; 'comfyctl models ls' lists them",
      EXIT.validation,
    );
  }
  return unique;
}
