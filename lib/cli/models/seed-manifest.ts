import { MODEL_FOLDERS, modelKeyProblem } from '../../model-folders';
import { CliError, EXIT } from '../cli-error';
import { isSecureDownloadUrl, PLAIN_HTTP_HOSTS } from './download-url';

/** One model to copy from a URL into the bucket. */
export interface SeedEntry {
  /** Position in the manifest's `models` list, for messages. */
  readonly index: number;
  readonly url: string;
  readonly folder: string;
  /** Bucket key: `<folder>[/<subfolder>]/<name>`. */
  readonly key: string;
  /** The file's SHA-256 as 64 lower-case hex digits, when the manifest gives one: the download must match it. */
  readonly sha256?: string;
}

export interface SeedManifestOptions {
  /** Every entry must give a `sha256` (--require-sha256). */
  readonly requireSha256?: boolean;
}

const ENTRY_FIELDS = ['url', 'folder', 'name', 'subfolder', 'sha256', '_comment'];
const SHA256 = /^[0-9a-fA-F]{64}$/;
const TOP_FIELDS = ['models', '_comment', '$schema'];

const quoted = (names: string[]) => names.map((k) => `'${k}'`).join(', ');

function label(index: number, raw: unknown): string {
  const url = (raw as { url?: unknown } | null)?.url;
  return `models[${index}]${typeof url === 'string' ? ` (${url})` : ''}`;
}

/** The file name a URL ends in, decoded: `.../resolve/main/sd_xl_base_1.0.safetensors` -> `sd_xl_base_1.0.safetensors`. */
export function fileNameOfUrl(url: URL): string {
  const last = url.pathname.split('/').pop() ?? '';
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

function urlProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '') return "needs a 'url' string";
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `'url' is not a URL: '${value}'`;
  }
  if (url.protocol === 'http:' && !isSecureDownloadUrl(url)) {
    return "'url' must be https: a model fetched over plain http can be swapped on the way; use its https:// address " +
      `(plain http is accepted only for this machine: ${PLAIN_HTTP_HOSTS.join(', ')})`;
  }
  if (!isSecureDownloadUrl(url)) return `'url' must be https, got ${url.protocol}`;
  // The page a Hugging Face user copies from shows /blob/; that URL returns HTML, /resolve/ returns the file.
  if (/(^|\.)huggingface\.co$/.test(url.hostname) && url.pathname.includes('/blob/')) {
    return "'url' points at a Hugging Face web page (/blob/): use the download URL with /resolve/ instead";
  }
  return undefined;
}

function sha256Problem(value: unknown, required: boolean): string | undefined {
  if (value === undefined) {
    return required
      ? 'has no \'sha256\' and --require-sha256 is set: add "sha256": "<64 hex digits>" (Hugging Face shows it on ' +
        "the file's page; or run sha256sum on a copy you trust)"
      : undefined;
  }
  if (typeof value !== 'string' || !SHA256.test(value)) {
    return `'sha256' must be the file's SHA-256 as 64 hex digits (as sha256sum prints it), got ${JSON.stringify(value)}`;
  }
  return undefined;
}

function readEntry(raw: unknown, index: number, problems: string[], options: SeedManifestOptions): SeedEntry | undefined {
  const where = label(index, raw);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problems.push(`${where}: must be an object with 'url' and 'folder'`);
    return undefined;
  }
  const entry = raw as Record<string, unknown>;
  const before = problems.length;
  const unknown = Object.keys(entry).filter((k) => !ENTRY_FIELDS.includes(k));
  if (unknown.length > 0) {
    problems.push(`${where}: unknown field ${quoted(unknown)}; fields are ${ENTRY_FIELDS.slice(0, 5).join(', ')}`);
  }
  const badUrl = urlProblem(entry.url);
  if (badUrl) problems.push(`${where}: ${badUrl}`);
  const badSha256 = sha256Problem(entry.sha256, options.requireSha256 ?? false);
  if (badSha256) problems.push(`${where}: ${badSha256}`);
  const folder = entry.folder;
  if (typeof folder !== 'string' || !(MODEL_FOLDERS as readonly string[]).includes(folder)) {
    problems.push(`${where}: 'folder' must be one of ${MODEL_FOLDERS.join(', ')}, got ${JSON.stringify(folder)}`);
  }
  for (const field of ['name', 'subfolder']) {
    if (entry[field] !== undefined && typeof entry[field] !== 'string') problems.push(`${where}: '${field}' must be a string`);
  }
  if (problems.length > before) return undefined;

  const url = entry.url as string;
  const name = (entry.name as string | undefined) ?? fileNameOfUrl(new URL(url));
  if (name === '' || name.includes('/')) {
    problems.push(`${where}: the URL ends in no file name; add "name": "<file name>"`);
    return undefined;
  }
  const subfolder = ((entry.subfolder as string | undefined) ?? '').replace(/^\/+|\/+$/g, '');
  const key = [folder as string, subfolder, name].filter((s) => s !== '').join('/');
  const keyProblem = modelKeyProblem(key);
  if (keyProblem) {
    problems.push(`${where}: the key '${key}' is ${keyProblem}; fix 'name' or 'subfolder'`);
    return undefined;
  }
  const sha256 = (entry.sha256 as string | undefined)?.toLowerCase();
  return { index, url, folder: folder as string, key, ...(sha256 ? { sha256 } : {}) };
}

/**
 * The manifest's entries, or one CliError listing every problem, each naming its entry: a typo found after
 * the first 7 GB download would waste the run.
 */
export function parseSeedManifest(text: string, source: string, options: SeedManifestOptions = {}): SeedEntry[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new CliError(`${source} is not JSON: ${(error as Error).message}`, EXIT.validation);
  }
  const models = (doc as { models?: unknown } | null)?.models;
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc) || !Array.isArray(models)) {
    throw new CliError(
      `${source} must be an object with a "models" list, e.g. {"models": [{"url": "https://...", "folder": "checkpoints"}]}`,
      EXIT.validation,
    );
  }
  const problems: string[] = [];
  const unknownTop = Object.keys(doc).filter((k) => !TOP_FIELDS.includes(k));
  if (unknownTop.length > 0) problems.push(`unknown top-level field ${quoted(unknownTop)}; the list goes in "models"`);
  if (models.length === 0) problems.push('"models" is empty: list at least one {"url", "folder"}');
  const entries = models
    .map((raw, i) => readEntry(raw, i, problems, options))
    .filter((e): e is SeedEntry => e !== undefined);
  const firstByKey = new Map<string, SeedEntry>();
  for (const entry of entries) {
    const first = firstByKey.get(entry.key);
    if (!first) firstByKey.set(entry.key, entry);
    else problems.push(`models[${entry.index}] and models[${first.index}] both write ${entry.key}; give one another "name" or "subfolder"`);
  }
  if (problems.length > 0) {
    const count = `${problems.length} problem${problems.length === 1 ? '' : 's'}`;
    throw new CliError(`${source} has ${count}:\n  ${problems.join('\n  ')}`, EXIT.validation);
  }
  return entries;
}
