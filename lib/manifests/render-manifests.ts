import * as fs from 'fs';
import * as path from 'path';
import { fillTemplate, TemplateValues } from './fill-template';

/** The kustomize tree in the repo: base plus one folder per overlay. */
export const MANIFESTS_DIR = path.join(__dirname, '..', '..', 'manifests');
export const OVERLAYS = ['single-gpu', 'multi-gpu'] as const;

/** Source files that are not part of what users apply. */
const SKIPPED = new Set(['tests', '__pycache__', '.pytest_cache']);

export interface RenderOptions {
  readonly values: TemplateValues;
  /** Where the rendered tree goes; replaced as a whole. */
  readonly outDir: string;
  /** @default MANIFESTS_DIR */
  readonly sourceDir?: string;
  /**
   * Source files (relative to sourceDir) rendered as a comment with the reason instead (manifestsLeftOut): their
   * objects are not applied, and the kustomization that lists them still builds.
   * @default {}
   */
  readonly leftOut?: Readonly<Record<string, string>>;
}

/**
 * Renders the kustomize tree into `outDir` (base and overlays, ready for `kubectl apply -k`). Everything is
 * rendered into a sibling temp folder first and swapped in only when every file rendered, so a failure
 * leaves the previous output untouched and never a half-rendered tree.
 */
export function renderManifests(options: RenderOptions): string[] {
  const sourceDir = options.sourceDir ?? MANIFESTS_DIR;
  const outDir = path.resolve(options.outDir);
  const unknown = Object.keys(options.leftOut ?? {}).filter((rel) => !fs.existsSync(path.join(sourceDir, rel)));
  if (unknown.length > 0) throw new Error(`cannot leave out ${unknown.join(', ')}: no such file in ${sourceDir}`);
  fs.mkdirSync(path.dirname(outDir), { recursive: true });
  const staging = fs.mkdtempSync(`${outDir}.rendering-`);
  try {
    const written = copyRendered(sourceDir, staging, '', options.values, options.leftOut ?? {});
    const previous = `${staging}.previous`;
    if (fs.existsSync(outDir)) fs.renameSync(outDir, previous);
    fs.renameSync(staging, outDir);
    fs.rmSync(previous, { recursive: true, force: true });
    return written;
  } catch (error) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw error;
  }
}

function copyRendered(
  sourceRoot: string, targetRoot: string, relative: string, values: TemplateValues, leftOut: Readonly<Record<string, string>>,
): string[] {
  const written: string[] = [];
  for (const entry of fs.readdirSync(path.join(sourceRoot, relative), { withFileTypes: true })) {
    if (SKIPPED.has(entry.name) || entry.name.endsWith('.pyc')) continue;
    const rel = path.join(relative, entry.name);
    const target = path.join(targetRoot, rel);
    if (entry.isDirectory()) {
      fs.mkdirSync(target, { recursive: true });
      written.push(...copyRendered(sourceRoot, targetRoot, rel, values, leftOut));
    } else if (rel in leftOut) {
      fs.writeFileSync(target, `# ${rel} is left out of this render: ${leftOut[rel]}.\n`);
      written.push(rel);
    } else if (/\.ya?ml$/.test(entry.name)) {
      const text = fs.readFileSync(path.join(sourceRoot, rel), 'utf8');
      fs.writeFileSync(target, fillTemplate(text, values, path.join('manifests', rel)));
      written.push(rel);
    } else {
      fs.copyFileSync(path.join(sourceRoot, rel), target);
      written.push(rel);
    }
  }
  return written;
}
