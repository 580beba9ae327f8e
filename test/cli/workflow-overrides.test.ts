import { describe, expect, it } from 'vitest';
import { CliError } from '../../lib/cli/cli-error';
import { ApiWorkflow, parseApiWorkflow } from '../../lib/cli/comfyui/workflow';
import { applyOverrides, parseSetValue } from '../../lib/cli/comfyui/workflow-overrides';

/** Text to image with the positive prompt behind a ConditioningCombine, and node ids nobody would guess. */
function workflow(): ApiWorkflow {
  return {
    '10': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'a.safetensors' } },
    '21': { class_type: 'CLIPTextEncode', inputs: { text: 'old positive', clip: ['10', 1] } },
    '22': { class_type: 'CLIPTextEncode', inputs: { text: 'old style', clip: ['10', 1] } },
    '23': { class_type: 'ConditioningCombine', inputs: { conditioning_1: ['21', 0], conditioning_2: ['22', 0] } },
    '24': { class_type: 'CLIPTextEncode', inputs: { text: 'old negative', clip: ['10', 1] } },
    '30': { class_type: 'EmptyLatentImage', inputs: { width: 512, height: 512, batch_size: 1 } },
    '40': {
      class_type: 'KSampler',
      inputs: { model: ['10', 0], positive: ['23', 0], negative: ['24', 0], latent_image: ['30', 0], seed: 1, steps: 20 },
    },
    '50': { class_type: 'SaveImage', inputs: { images: ['40', 0], filename_prefix: 'x' } },
  };
}

describe('workflow overrides by node class', () => {
  it('sets the text of every encoder behind the sampler\'s positive input, through a combine node', () => {
    const { workflow: result } = applyOverrides(workflow(), { prompt: 'a fox' });
    expect(result['21'].inputs.text).toBe('a fox');
    expect(result['22'].inputs.text).toBe('a fox');
    expect(result['24'].inputs.text).toBe('old negative');
  });

  it('sets the negative prompt only on the negative branch', () => {
    const { workflow: result } = applyOverrides(workflow(), { negative: 'blurry' });
    expect(result['24'].inputs.text).toBe('blurry');
    expect(result['21'].inputs.text).toBe('old positive');
  });

  it('sets seed and noise_seed on every node that has one, and reports each change', () => {
    const wf = workflow();
    wf['60'] = { class_type: 'RandomNoise', inputs: { noise_seed: 5 } };
    const { workflow: result, changes } = applyOverrides(wf, { seed: 42, steps: 8, checkpoint: 'b.safetensors' });
    expect(result['40'].inputs.seed).toBe(42);
    expect(result['60'].inputs.noise_seed).toBe(42);
    expect(result['40'].inputs.steps).toBe(8);
    expect(result['10'].inputs.ckpt_name).toBe('b.safetensors');
    expect(changes).toHaveLength(4);
  });

  it('covers both samplers of a base + refiner workflow and SDXL encoders\' two text inputs', () => {
    const wf = workflow();
    wf['70'] = { class_type: 'CLIPTextEncodeSDXL', inputs: { text_g: 'g', text_l: 'l', clip: ['10', 1] } };
    wf['71'] = { class_type: 'KSamplerAdvanced', inputs: { positive: ['70', 0], negative: ['24', 0], noise_seed: 3, steps: 10 } };
    const { workflow: result } = applyOverrides(wf, { prompt: 'a fox', seed: 9 });
    expect(result['70'].inputs).toMatchObject({ text_g: 'a fox', text_l: 'a fox' });
    expect(result['71'].inputs.noise_seed).toBe(9);
  });

  it('leaves the input workflow untouched', () => {
    const original = workflow();
    applyOverrides(original, { prompt: 'changed', seed: 7 });
    expect(original['21'].inputs.text).toBe('old positive');
    expect(original['40'].inputs.seed).toBe(1);
  });

  it('fails, naming the option, when nothing in the workflow matches', () => {
    const wf = workflow();
    delete wf['40'];
    expect(() => applyOverrides(wf, { prompt: 'x' })).toThrow(/--prompt: no sampler's positive input leads to a text encoder/);
    expect(() => applyOverrides(wf, { seed: 1 })).toThrow(/--seed: no node has a literal seed or noise_seed input/);
  });

  it('applies --set to every node of a class, parsing numbers and keeping text', () => {
    const { workflow: result } = applyOverrides(workflow(), { set: ['EmptyLatentImage.width=1024', 'SaveImage.filename_prefix=renders/fox'] });
    expect(result['30'].inputs.width).toBe(1024);
    expect(result['50'].inputs.filename_prefix).toBe('renders/fox');
  });

  it('refuses --set on an unknown class (listing the classes), a malformed assignment, or a linked input', () => {
    expect(() => applyOverrides(workflow(), { set: ['VAELoader.vae_name=x'] })).toThrow(/no VAELoader node in the workflow \(it has: CLIPTextEncode, /);
    expect(() => applyOverrides(workflow(), { set: ['width=3'] })).toThrow(/expected ClassType.input=value/);
    expect(() => applyOverrides(workflow(), { set: ['KSampler.model=1'] })).toThrow(/that input is a link to another node/);
  });

  it('parses --set values as JSON scalars or plain text', () => {
    expect(parseSetValue('7.5')).toBe(7.5);
    expect(parseSetValue('true')).toBe(true);
    expect(parseSetValue('"42"')).toBe('42');
    expect(parseSetValue('euler_ancestral')).toBe('euler_ancestral');
    expect(parseSetValue('[1,2]')).toBe('[1,2]');
  });
});

describe('API-format workflow check', () => {
  it('explains how to export the API format when given a UI-format graph', () => {
    expect(() => parseApiWorkflow({ nodes: [], links: [], version: 0.4 }, 'w.json')).toThrow(/UI-format workflow .* "Export \(API\)"/);
  });

  it('names the node that has no class_type or no inputs', () => {
    expect(() => parseApiWorkflow({ 3: { inputs: {} } }, 'w.json')).toThrow(/node "3" has no class_type/);
    expect(() => parseApiWorkflow({ 3: { class_type: 'KSampler' } }, 'w.json')).toThrow(/node "3" \(KSampler\) has no inputs object/);
    expect(() => parseApiWorkflow([], 'w.json')).toThrow(CliError);
    expect(() => parseApiWorkflow({}, 'w.json')).toThrow(/has no nodes/);
  });
});
