import * as fs from 'fs';
import * as path from 'path';
import { expect, test } from 'vitest';
import { findDocument, renderedBase } from '../helpers/rendered-manifests';

const SCRIPTS = path.join(__dirname, '..', '..', 'manifests', 'base', 'pod-scripts');
const pythonConstant = (file: string, name: string) =>
  new RegExp(`^${name} = "([^"]+)"`, 'm').exec(fs.readFileSync(path.join(SCRIPTS, file), 'utf8'))?.[1];

test("ComfyUI's /metrics reads the usage file exactly where the output shipper writes it", () => {
  const pod = findDocument(renderedBase(), 'Deployment', 'comfyui').spec.template.spec;
  const shipper = pod.initContainers.find((c: any) => c.name === 'output-shipper');
  const comfyui = pod.containers.find((c: any) => c.name === 'comfyui');
  const source = shipper.args.find((a: string) => a.startsWith('--source=')).slice('--source='.length);
  const indexDir = pythonConstant('output_pruner.py', 'INDEX_DIR');
  const usageFile = pythonConstant('output_shipper.py', 'USAGE_FILE');
  expect(indexDir).toBeDefined();
  expect(usageFile).toBeDefined();
  const env = comfyui.env.find((e: any) => e.name === 'COMFY_OUTPUT_USAGE_FILE');
  expect(env.value).toBe(`${source}/${indexDir}/${usageFile}`);
  // ComfyUI sees the same folder the shipper measures.
  expect(comfyui.args).toContain(`--output-directory=${source}`);
});
