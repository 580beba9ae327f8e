import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../../lib/config';
import { TemplateValues } from '../../lib/manifests/fill-template';
import { manifestValues } from '../../lib/manifests/manifest-values';
import { renderManifests } from '../../lib/manifests/render-manifests';
import { jobsStackValuesFromOutputs, stackValuesFromOutputs } from '../../lib/manifests/stack-values';

const REPO = path.join(__dirname, '..', '..');

/** The values `npm run render -- --outputs test/fixtures/cdk-outputs.json` fills in, with the default config. */
export function fixtureManifestValues(imageTag = '0.1.0'): TemplateValues {
  const outputs = JSON.parse(fs.readFileSync(path.join(REPO, 'test', 'fixtures', 'cdk-outputs.json'), 'utf8'));
  const stack = stackValuesFromOutputs(outputs, 'cdk-outputs.json');
  return manifestValues(stack, loadConfig(() => undefined), imageTag, jobsStackValuesFromOutputs(outputs, 'cdk-outputs.json'));
}

/**
 * The base manifests rendered from test/fixtures/cdk-outputs.json with the default config, parsed: every
 * document of every file.
 */
export function renderedBase(): any[] {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'comfyui-rendered-')), 'manifests');
  renderManifests({ values: fixtureManifestValues(), outDir: out });
  const base = path.join(out, 'base');
  return fs
    .readdirSync(base)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => parseAllDocuments(fs.readFileSync(path.join(base, f), 'utf8')).map((d) => d.toJS()))
    .filter((d) => d && d.kind);
}

/** The document of `kind` (and `name`, when given) among `docs`. */
export const findDocument = (docs: any[], kind: string, name?: string) =>
  docs.find((d) => d.kind === kind && (name === undefined || d.metadata.name === name));
