import { describe, expect, test } from 'vitest';
import { refusal } from './refusal';
import {
  applyTemplateInputs, deriveTemplateInputs, parseBindingArgs, parseTemplateRef, TemplateDocument,
} from '../../../lib/jobs/templates';
import { checkApiWorkflow } from '../../../lib/jobs/workflow';

const WORKFLOW = {
  3: { class_type: 'KSampler', inputs: { seed: 5, steps: 20, cfg: 7.5, denoise: 1, model: ['4', 0] } },
  4: { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'sd15.safetensors' } },
  6: { class_type: 'CLIPTextEncode', inputs: { text: 'a cat' } },
  7: { class_type: 'Switch', inputs: { on: true, extra: { nested: 1 } } },
};

describe('API-format workflows', () => {
  test('a UI-format workflow is refused naming workflow and how to export the API format', () => {
    const r = refusal(() => checkApiWorkflow({ nodes: [], links: [], version: 0.4 }));
    expect(r).toMatchObject({ field: 'workflow', status: 400 });
    expect(r.message).toContain('Export (API)');
  });

  test('a node without class_type or with non-object inputs is refused naming the node', () => {
    expect(refusal(() => checkApiWorkflow({ 1: { inputs: {} } })).field).toBe('workflow.1');
    expect(refusal(() => checkApiWorkflow({ 1: { class_type: 'X', inputs: [] } })).field).toBe('workflow.1.inputs');
    expect(refusal(() => checkApiWorkflow({})).field).toBe('workflow');
    expect(refusal(() => checkApiWorkflow([])).field).toBe('workflow');
  });
});

describe('deriving a template\'s inputs', () => {
  test('types come from the workflow\'s values; bounds and required from the binding', () => {
    const inputs = deriveTemplateInputs(WORKFLOW, {
      prompt: '6.text', seed: { path: '3.seed', min: 0, max: 2 ** 32 }, cfg: '3.cfg', on: '7.on',
      denoise: { path: '3.denoise', type: 'float', max: 1 }, ckpt: { path: '4.ckpt_name', required: true },
    });
    expect(inputs.map((i) => [i.name, i.type, i.default, i.min, i.max])).toEqual([
      ['prompt', 'string', 'a cat', null, null],
      ['seed', 'int', 5, 0, 2 ** 32],
      ['cfg', 'float', 7.5, null, null],
      ['on', 'boolean', true, null, null],
      ['denoise', 'float', 1, null, 1],
      ['ckpt', 'string', null, null, null],
    ]);
  });

  test.each([
    ['a node the workflow lacks', { x: '9.text' }, 'inputs.x', 'lacks'],
    ['an input the node lacks', { x: '6.texts' }, 'inputs.x', 'no input'],
    ['a link', { x: '3.model' }, 'inputs.x', 'link'],
    ['an object value', { x: '7.extra' }, 'inputs.x', 'not a string'],
    ['a path without a dot', { x: '6' }, 'inputs.x', '<node id>.<input>'],
    ['a bad input name', { '1x': '6.text' }, 'inputs.1x', 'Input name'],
    ['two names for one input', { a: '6.text', b: '6.text' }, 'inputs.b', 'both bind'],
    ['bounds on a string', { x: { path: '6.text', min: 1 } }, 'inputs.x', 'only int and float'],
    ['min above max', { x: { path: '3.seed', min: 9, max: 1 } }, 'inputs.x', 'above max'],
    ['a default out of its bounds', { x: { path: '3.steps', max: 10 } }, 'inputs.x', 'at most 10'],
    ['an unknown type', { x: { path: '3.seed', type: 'number' } }, 'inputs.x.type', 'one of'],
    ['a type the value contradicts', { x: { path: '3.cfg', type: 'int' } }, 'inputs.x.type', 'declared int'],
    ['an unknown setting', { x: { path: '3.seed', maximum: 3 } }, 'inputs.x.maximum', 'unknown setting'],
    ['a binding that is neither string nor object', { x: 3 }, 'inputs.x', 'must be bound'],
  ])('refuses %s, naming the input', (_what, bindings, field, words) => {
    const r = refusal(() => deriveTemplateInputs(WORKFLOW, bindings));
    expect(r.field).toBe(field);
    expect(r.message).toContain(words);
  });

  test('comfyctl\'s name=path arguments become bindings; a repeated name is refused', () => {
    expect(parseBindingArgs(['prompt=6.text', 'seed=3.seed'])).toEqual({ prompt: '6.text', seed: '3.seed' });
    expect(refusal(() => parseBindingArgs(['a=6.text', 'a=3.seed'])).field).toBe('inputs.a');
    expect(refusal(() => parseBindingArgs(['=6.text'])).field).toBe('inputs');
  });
});

describe('template references', () => {
  test('name and name@version parse; a bad name or version is refused', () => {
    expect(parseTemplateRef('portrait')).toEqual({ name: 'portrait' });
    expect(parseTemplateRef('portrait@12')).toEqual({ name: 'portrait', version: 12 });
    expect(refusal(() => parseTemplateRef('portrait@0')).message).toContain('whole number');
    expect(refusal(() => parseTemplateRef('portrait@latest')).field).toBe('template');
    expect(refusal(() => parseTemplateRef('../etc')).field).toBe('template');
    expect(refusal(() => parseTemplateRef('a/b')).message).toContain('letters, digits');
  });
});

describe('applying inputs', () => {
  const template: Pick<TemplateDocument, 'name' | 'workflow' | 'inputs'> = {
    name: 'portrait',
    workflow: WORKFLOW,
    inputs: deriveTemplateInputs(WORKFLOW, {
      prompt: '6.text', seed: { path: '3.seed', min: 0 }, cfg: { path: '3.cfg', min: 1, max: 30 }, on: '7.on',
      ckpt: { path: '4.ckpt_name', required: true },
    }),
  };

  test('given inputs replace their values, the rest keep their defaults, the template is untouched', () => {
    const workflow = applyTemplateInputs(template, { prompt: 'a dog', ckpt: 'sdxl.safetensors', cfg: 4 });
    expect(workflow['6'].inputs).toEqual({ text: 'a dog' });
    expect(workflow['4'].inputs).toEqual({ ckpt_name: 'sdxl.safetensors' });
    expect(workflow['3'].inputs).toEqual({ seed: 5, steps: 20, cfg: 4, denoise: 1, model: ['4', 0] });
    expect(WORKFLOW['6'].inputs.text).toBe('a cat');
  });

  test.each([
    ['an unknown input', { ckpt: 'a', colour: 'red' }, 'inputs.colour', 'has no input \'colour\''],
    ['a missing input without default', {}, 'inputs.ckpt', 'no default'],
    ['a string for an int', { ckpt: 'a', seed: '42' }, 'inputs.seed', 'an int'],
    ['a fraction for an int', { ckpt: 'a', seed: 4.5 }, 'inputs.seed', 'an int'],
    ['a number for a boolean', { ckpt: 'a', on: 1 }, 'inputs.on', 'a boolean'],
    ['a value below min', { ckpt: 'a', seed: -1 }, 'inputs.seed', 'at least 0'],
    ['a value above max', { ckpt: 'a', cfg: 31 }, 'inputs.cfg', 'at most 30'],
    ['inputs that are not an object', ['a'], 'inputs', 'object'],
  ])('refuses %s, naming it', (_what, inputs, field, words) => {
    const r = refusal(() => applyTemplateInputs(template, inputs));
    expect(r.field).toBe(field);
    expect(r.message).toContain(words);
  });
});
