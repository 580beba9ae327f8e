import { invalid, isPlainObject } from './api-error';
import { checkApiWorkflow, ApiWorkflow } from './workflow';

/**
 * Templates (docs/jobs.md, "Templates"): a tested API-format workflow with named inputs. Pure, shared by the jobs
 * API (publish and run) and comfyctl (checks before it uploads).
 */

export type TemplateInputType = 'string' | 'int' | 'float' | 'boolean';

/** One named input of a template, derived on publish. `default` is null for a required input. */
export interface TemplateInput {
  readonly name: string;
  readonly node: string;
  readonly input: string;
  readonly type: TemplateInputType;
  readonly default: string | number | boolean | null;
  readonly min: number | null;
  readonly max: number | null;
}

/** How a publisher names an input: `"6.text"`, or an object that adds bounds, a type or `required`. */
export type TemplateBinding = string | {
  readonly path: string;
  readonly type?: TemplateInputType;
  readonly min?: number;
  readonly max?: number;
  /** The workflow's value is then no default: every run must give one. */
  readonly required?: boolean;
};

/** What the templates bucket holds at templates/<name>/<version>.json. */
export interface TemplateDocument {
  readonly name: string;
  readonly version: number;
  readonly description: string | null;
  readonly workflow: ApiWorkflow;
  readonly inputs: readonly TemplateInput[];
  readonly created_by: string;
  readonly create_time: number;
}

// Safe in an S3 key and a URL path segment; '@' separates the version in references.
const TEMPLATE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
// Input names are used as JSON keys and comfyctl flags (--input prompt=...).
const INPUT_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const TYPES: readonly TemplateInputType[] = ['string', 'int', 'float', 'boolean'];

export function checkTemplateName(name: string, field = 'name'): string {
  if (!TEMPLATE_NAME.test(name)) {
    throw invalid(field, `Template name '${name}' must be 1-64 letters, digits, '-' or '_', starting with a letter or digit`);
  }
  return name;
}

/** `name` or `name@3` -> its parts; version undefined means the latest. */
export function parseTemplateRef(ref: string, field = 'template'): { name: string; version?: number } {
  const at = ref.lastIndexOf('@');
  if (at === -1) return { name: checkTemplateName(ref, field) };
  const name = checkTemplateName(ref.slice(0, at), field);
  const versionText = ref.slice(at + 1);
  if (!/^[1-9][0-9]{0,8}$/.test(versionText)) {
    throw invalid(field, `Template version in '${ref}' must be a whole number from 1, got '${versionText}'`);
  }
  return { name, version: Number(versionText) };
}

/** comfyctl's `--input prompt=6.text` arguments -> bindings; refuses a malformed or repeated name. */
export function parseBindingArgs(args: readonly string[]): Record<string, string> {
  const bindings: Record<string, string> = {};
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq <= 0) throw invalid('inputs', `Input binding '${arg}' must look like name=<node id>.<input>, e.g. prompt=6.text`);
    const name = arg.slice(0, eq);
    if (name in bindings) throw invalid(`inputs.${name}`, `Input '${name}' is bound twice`);
    bindings[name] = arg.slice(eq + 1);
  }
  return bindings;
}

function valueType(value: unknown): TemplateInputType | undefined {
  if (typeof value === 'string') return 'string';
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'number' && Number.isFinite(value)) return Number.isInteger(value) ? 'int' : 'float';
  return undefined;
}

function optionalNumber(value: unknown, field: string): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(field, `${field} must be a number`);
  return value;
}

function deriveInput(workflow: ApiWorkflow, name: string, binding: unknown): TemplateInput {
  const field = `inputs.${name}`;
  if (!INPUT_NAME.test(name)) {
    throw invalid(field, `Input name '${name}' must be 1-64 letters, digits or '_', not starting with a digit`);
  }
  const spec = typeof binding === 'string' ? { path: binding } : binding;
  if (!isPlainObject(spec) || typeof spec.path !== 'string') {
    throw invalid(field, `Input '${name}' must be bound to "<node id>.<input>" or {"path": "<node id>.<input>", ...}`);
  }
  const known = new Set(['path', 'type', 'min', 'max', 'required']);
  const unknown = Object.keys(spec).find((k) => !known.has(k));
  if (unknown !== undefined) throw invalid(`${field}.${unknown}`, `Input '${name}' has an unknown setting '${unknown}'`);

  const dot = spec.path.indexOf('.');
  const node = dot > 0 ? spec.path.slice(0, dot) : '';
  const input = dot > 0 ? spec.path.slice(dot + 1) : '';
  if (node === '' || input === '') {
    throw invalid(field, `Input '${name}' path '${spec.path}' must look like <node id>.<input>, e.g. 6.text`);
  }
  const nodeEntry = workflow[node];
  if (nodeEntry === undefined) throw invalid(field, `Input '${name}' names node '${node}', which the workflow lacks`);
  const inputs = nodeEntry.inputs ?? {};
  if (!Object.prototype.hasOwnProperty.call(inputs, input)) {
    throw invalid(field, `Input '${name}': node '${node}' (${nodeEntry.class_type}) has no input '${input}'`);
  }
  const value = inputs[input];
  if (Array.isArray(value)) {
    throw invalid(field, `Input '${name}': ${node}.${input} is a link to another node's output, not a value to set`);
  }
  const found = valueType(value);
  if (found === undefined) {
    throw invalid(field, `Input '${name}': ${node}.${input} holds ${JSON.stringify(value)}, not a string, number or boolean`);
  }
  let type = found;
  if (spec.type !== undefined) {
    if (!TYPES.includes(spec.type as TemplateInputType)) {
      throw invalid(`${field}.type`, `Input '${name}' type must be one of ${TYPES.join(', ')}, got '${String(spec.type)}'`);
    }
    // JSON cannot tell 1.0 from 1, so a float input whose value happens to be whole may be declared float.
    const compatible = spec.type === found || (spec.type === 'float' && found === 'int');
    if (!compatible) throw invalid(`${field}.type`, `Input '${name}' is declared ${spec.type} but ${node}.${input} holds a ${found}`);
    type = spec.type as TemplateInputType;
  }
  const min = optionalNumber(spec.min, `${field}.min`);
  const max = optionalNumber(spec.max, `${field}.max`);
  if ((min !== null || max !== null) && type !== 'int' && type !== 'float') {
    throw invalid(field, `Input '${name}' is a ${type}: only int and float inputs take min/max`);
  }
  if (min !== null && max !== null && min > max) throw invalid(field, `Input '${name}' has min ${min} above max ${max}`);
  if (spec.required !== undefined && typeof spec.required !== 'boolean') {
    throw invalid(`${field}.required`, `Input '${name}' required must be true or false`);
  }
  const result: TemplateInput = {
    name, node, input, type, default: spec.required === true ? null : value as string | number | boolean, min, max,
  };
  if (result.default !== null) checkInputValue(result, result.default, field);
  return result;
}

/**
 * Publish: the workflow's typed input schema from `bindings` (name -> path). Refuses a UI-format workflow, a path
 * whose node or input does not exist, a link, two names for one input, and a default out of its own bounds.
 */
export function deriveTemplateInputs(workflowValue: unknown, bindings: unknown): TemplateInput[] {
  const workflow = checkApiWorkflow(workflowValue);
  if (bindings === undefined) return [];
  if (!isPlainObject(bindings)) throw invalid('inputs', 'inputs must be an object of name -> "<node id>.<input>"');
  const derived = Object.entries(bindings).map(([name, binding]) => deriveInput(workflow, name, binding));
  const byPath = new Map<string, string>();
  for (const d of derived) {
    const path = `${d.node}.${d.input}`;
    const other = byPath.get(path);
    if (other !== undefined) throw invalid(`inputs.${d.name}`, `Inputs '${other}' and '${d.name}' both bind ${path}`);
    byPath.set(path, d.name);
  }
  return derived;
}

function checkInputValue(spec: TemplateInput, value: unknown, field: string): void {
  const ok = spec.type === 'float' ? typeof value === 'number' && Number.isFinite(value)
    : spec.type === 'int' ? typeof value === 'number' && Number.isInteger(value)
      : typeof value === spec.type;
  if (!ok) throw invalid(field, `Input '${spec.name}' must be ${spec.type === 'int' ? 'an int' : `a ${spec.type}`}, got ${JSON.stringify(value)}`);
  if (typeof value === 'number') {
    if (spec.min !== null && value < spec.min) throw invalid(field, `Input '${spec.name}' must be at least ${spec.min}, got ${value}`);
    if (spec.max !== null && value > spec.max) throw invalid(field, `Input '${spec.name}' must be at most ${spec.max}, got ${value}`);
  }
}

/**
 * Run: the template's workflow with `inputs` applied (a new object; the template's is untouched). Refuses an
 * unknown input, a missing one without default, a mistyped value or one out of bounds, each naming the input.
 */
export function applyTemplateInputs(template: Pick<TemplateDocument, 'name' | 'workflow' | 'inputs'>, inputs: unknown): ApiWorkflow {
  const given = inputs ?? {};
  if (!isPlainObject(given)) throw invalid('inputs', 'inputs must be an object of input name -> value');
  const byName = new Map(template.inputs.map((i) => [i.name, i]));
  for (const name of Object.keys(given)) {
    if (!byName.has(name)) {
      const known = [...byName.keys()].join(', ') || 'none';
      throw invalid(`inputs.${name}`, `Template '${template.name}' has no input '${name}' (its inputs: ${known})`);
    }
  }
  const workflow = structuredClone(template.workflow) as ApiWorkflow;
  for (const spec of template.inputs) {
    const field = `inputs.${spec.name}`;
    const value = Object.prototype.hasOwnProperty.call(given, spec.name) ? given[spec.name] : spec.default;
    if (value === null || value === undefined) {
      throw invalid(field, `Template '${template.name}' needs input '${spec.name}' (${spec.type}), which has no default`);
    }
    checkInputValue(spec, value, field);
    const node = workflow[spec.node];
    node.inputs = { ...(node.inputs ?? {}), [spec.input]: value };
  }
  return workflow;
}
