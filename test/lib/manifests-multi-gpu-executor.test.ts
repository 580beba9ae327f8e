import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { beforeAll, describe, expect, test } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { AppConfig, loadConfig } from '../../lib/config';
import { manifestValues } from '../../lib/manifests/manifest-values';
import { multiGpuValues } from '../../lib/manifests/multi-gpu-values';
import { OVERLAYS, renderManifests } from '../../lib/manifests/render-manifests';
import { exampleJobsStackValues, exampleStackValues } from '../../lib/manifests/stack-values';
import { PROCESS_MODE_TAG_PREFIX } from '../../lib/names';
import { findDocument } from '../helpers/rendered-manifests';

/**
 * Config multiGpuExecutor as the multi-GPU overlay renders it, built by kustomize: the launcher's executor, the image
 * every container of the pod (and the model gate's pre-pull) runs, and the pod's memory. The single-GPU overlay
 * stays on the thread-mode image whatever the key says.
 */
const REPO = path.join(__dirname, '..', '..');
const KUSTOMIZE = path.join(REPO, 'build', 'tools', 'bin', 'kustomize');
const TAG = '0.3.0';

const configWith = (overrides: Record<string, unknown>): AppConfig => loadConfig((key) => overrides[key]);

/** Both overlays rendered from the example stack values with `config`, built by kustomize, every document parsed. */
function build(config: AppConfig): Record<(typeof OVERLAYS)[number], any[]> {
  if (!fs.existsSync(KUSTOMIZE)) throw new Error(`${KUSTOMIZE} is missing: run \`bash scripts/manifest-tools.sh\` (npm test does)`);
  const values = manifestValues(exampleStackValues(config), config, TAG, exampleJobsStackValues(config));
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'executor-render-')), 'manifests');
  renderManifests({ values, outDir: out });
  return Object.fromEntries(OVERLAYS.map((overlay) => {
    const run = spawnSync(KUSTOMIZE, ['build', path.join(out, overlay)], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`kustomize build ${overlay} failed: ${run.stderr}`);
    return [overlay, parseAllDocuments(run.stdout).map((d) => d.toJS()).filter((d) => d?.kind)];
  })) as Record<(typeof OVERLAYS)[number], any[]>;
}

/** The ComfyUI pod's and the model gate's containers, by name, with their image. */
function images(docs: any[]): Record<string, string> {
  const pods = [findDocument(docs, 'Deployment', 'comfyui'), findDocument(docs, 'DaemonSet', 'model-gate')].map((d) => d.spec.template.spec);
  return Object.fromEntries(pods.flatMap((pod) => [...pod.initContainers, ...pod.containers]).map((c: any) => [c.name, c.image]));
}

const comfyui = (docs: any[]) => findDocument(docs, 'Deployment', 'comfyui').spec.template.spec.containers
  .find((c: any) => c.name === 'comfyui');
const env = (docs: any[]) => Object.fromEntries(comfyui(docs).env.map((e: any) => [e.name, e.value]));

describe.each([
  ['thread', `:${TAG}`, '160Gi'],
  ['process', `:${PROCESS_MODE_TAG_PREFIX}${TAG}`, '168Gi'],
] as const)('multiGpuExecutor %s', (executor, imageTagPart, memory) => {
  const config = configWith({ multiGpuExecutor: executor });
  const repository = exampleStackValues(config).ecrRepositoryUri;
  let built: Record<(typeof OVERLAYS)[number], any[]>;
  beforeAll(() => {
    built = build(config);
  });

  test('the multi-GPU pod tells the launcher which executor to run', () => {
    expect(env(built['multi-gpu'])).toMatchObject({ COMFY_MULTI_GPU_SCHED: '1', COMFY_MULTI_GPU_EXECUTOR: executor });
  });

  test('every container that runs ComfyUI\'s image on a multi-GPU node runs that executor\'s image, so a node pulls one', () => {
    expect(images(built['multi-gpu'])).toEqual({
      'wait-for-network-policy': `${repository}${imageTagPart}`,
      'output-shipper': `${repository}${imageTagPart}`,
      comfyui: `${repository}${imageTagPart}`,
      'pull-comfyui-image': `${repository}${imageTagPart}`,
      'model-gate': `${repository}:model-gate-${TAG}`,
    });
  });

  test('the multi-GPU pod asks for the memory of its executor, limits equal to requests', () => {
    const { requests, limits } = comfyui(built['multi-gpu']).resources;
    expect([requests.memory, limits.memory]).toEqual([memory, memory]);
  });

  test('the single-GPU overlay keeps the thread-mode image and runs stock ComfyUI', () => {
    expect(Object.values(images(built['single-gpu'])).filter((image) => !image.includes(':model-gate-'))).toEqual(
      Array(4).fill(`${repository}:${TAG}`),
    );
    expect(env(built['single-gpu'])).toMatchObject({ COMFY_MULTI_GPU_SCHED: '0' });
    expect(env(built['single-gpu'])).not.toHaveProperty('COMFY_MULTI_GPU_EXECUTOR');
  });
});

describe('multiGpuValues', () => {
  test('process mode adds 2 GiB per GPU for each GPU\'s own ComfyUI process, on 8-GPU nodes too', () => {
    const memory = (overrides: Record<string, unknown>) => {
      const config = configWith(overrides);
      return multiGpuValues(exampleStackValues(config), config, TAG).multiGpuMemory;
    };
    expect(memory({ gpusPerMultiGpuNode: 8 })).toBe('320Gi');
    expect(memory({ gpusPerMultiGpuNode: 8, multiGpuExecutor: 'process' })).toBe('336Gi');
  });

  test('the process-mode tag fits ECR\'s 128 characters with the longest tag the renderer accepts', () => {
    const config = configWith({ multiGpuExecutor: 'process' });
    const stack = exampleStackValues(config);
    expect(() => manifestValues(stack, config, 'a'.repeat(118), exampleJobsStackValues(config))).toThrow(/immutable ECR tag/);
    const longest = manifestValues(stack, config, 'a'.repeat(117), exampleJobsStackValues(config));
    expect(String(longest.multiGpuComfyuiImage).split(':').pop()!.length).toBeLessThanOrEqual(128);
  });
});
