import { CliError, EXIT } from '../cli-error';
import { ApiWorkflow, InputValue, describeNode, isLink } from './workflow';

/** Changes asked for on the command line. Each is applied by node class and input name, never by node id. */
export interface WorkflowOverrides {
  /** Text of every encoder that feeds a sampler's `positive` input. */
  readonly prompt?: string;
  /** Text of every encoder that feeds a sampler's `negative` input. */
  readonly negative?: string;
  /** Every literal `seed` / `noise_seed` input (KSampler, KSamplerAdvanced, RandomNoise, ...). */
  readonly seed?: number;
  /** Every literal `steps` input. */
  readonly steps?: number;
  /** Every literal `ckpt_name` input (CheckpointLoaderSimple and friends). */
  readonly checkpoint?: string;
  /** Generic `ClassType.input=value` assignments; value is JSON when it parses, else a string. */
  readonly set?: readonly string[];
}

/** Inputs that hold prompt text in the core encoders (CLIPTextEncode; CLIPTextEncodeSDXL's two towers). */
const TEXT_INPUTS = ['text', 'text_g', 'text_l'];
/** How far to follow conditioning links (through ConditioningCombine, SetArea, ...) to reach an encoder. */
const MAX_CONDITIONING_DEPTH = 6;

/**
 * Returns a copy of the workflow with the overrides applied, and one line per change for the user.
 * An override that matches no node is an error: silently rendering the unchanged workflow is worse.
 */
export function applyOverrides(workflow: ApiWorkflow, overrides: WorkflowOverrides): { workflow: ApiWorkflow; changes: string[] } {
  const result = structuredClone(workflow);
  const changes: string[] = [];
  const setLiteral = (option: string, inputNames: readonly string[], value: InputValue) => {
    let hits = 0;
    for (const [id, node] of Object.entries(result)) {
      for (const name of inputNames) {
        if (name in node.inputs && !isLink(node.inputs[name])) {
          node.inputs[name] = value;
          changes.push(`${option}: ${describeNode(result, id)}.${name} = ${JSON.stringify(value)}`);
          hits += 1;
        }
      }
    }
    if (hits === 0) {
      throw new CliError(`${option}: no node has a literal ${inputNames.join(' or ')} input to set`, EXIT.usage);
    }
  };
  if (overrides.prompt !== undefined) setConditioningText(result, 'positive', overrides.prompt, '--prompt', changes);
  if (overrides.negative !== undefined) setConditioningText(result, 'negative', overrides.negative, '--negative', changes);
  if (overrides.seed !== undefined) setLiteral('--seed', ['seed', 'noise_seed'], overrides.seed);
  if (overrides.steps !== undefined) setLiteral('--steps', ['steps'], overrides.steps);
  if (overrides.checkpoint !== undefined) setLiteral('--ckpt', ['ckpt_name'], overrides.checkpoint);
  for (const assignment of overrides.set ?? []) applyAssignment(result, assignment, changes);
  return { workflow: result, changes };
}

/** Sets the text of every encoder reachable from a sampler's `positive` or `negative` input. */
function setConditioningText(workflow: ApiWorkflow, input: 'positive' | 'negative', text: string, option: string, changes: string[]): void {
  const encoders = new Set<string>();
  for (const node of Object.values(workflow)) {
    const link = node.inputs[input];
    if (isLink(link)) findEncoders(workflow, link[0], 0, encoders);
  }
  if (encoders.size === 0) {
    throw new CliError(
      `${option}: no sampler's ${input} input leads to a text encoder; set the text directly, e.g. --set CLIPTextEncode.text="..."`,
      EXIT.usage,
    );
  }
  for (const id of encoders) {
    for (const name of TEXT_INPUTS) {
      if (typeof workflow[id].inputs[name] === 'string') {
        workflow[id].inputs[name] = text;
        changes.push(`${option}: ${describeNode(workflow, id)}.${name}`);
      }
    }
  }
}

function findEncoders(workflow: ApiWorkflow, id: string, depth: number, found: Set<string>): void {
  const node = workflow[id];
  if (!node || depth > MAX_CONDITIONING_DEPTH) return;
  if (TEXT_INPUTS.some((name) => typeof node.inputs[name] === 'string')) {
    found.add(id);
    return;
  }
  for (const value of Object.values(node.inputs)) {
    if (isLink(value)) findEncoders(workflow, value[0], depth + 1, found);
  }
}

/** `ClassType.input=value`: sets that input on every node of that class. */
function applyAssignment(workflow: ApiWorkflow, assignment: string, changes: string[]): void {
  const match = /^([^.=\s]+)\.([^=\s]+)=(.*)$/s.exec(assignment);
  if (!match) {
    throw new CliError(`--set ${JSON.stringify(assignment)}: expected ClassType.input=value, e.g. EmptyLatentImage.width=1024`, EXIT.usage);
  }
  const [, classType, input, raw] = match;
  const value = parseSetValue(raw);
  const ids = Object.keys(workflow).filter((id) => workflow[id].class_type === classType);
  if (ids.length === 0) {
    const classes = [...new Set(Object.values(workflow).map((n) => n.class_type))].sort().join(', ');
    throw new CliError(`--set ${classType}.${input}: no ${classType} node in the workflow (it has: ${classes})`, EXIT.usage);
  }
  for (const id of ids) {
    if (isLink(workflow[id].inputs[input])) {
      throw new CliError(`--set ${classType}.${input}: on ${describeNode(workflow, id)} that input is a link to another node, not a value`, EXIT.usage);
    }
    workflow[id].inputs[input] = value;
    changes.push(`--set: ${describeNode(workflow, id)}.${input} = ${JSON.stringify(value)}`);
  }
}

/** Numbers, booleans and null as JSON; anything else (including unquoted text) as a string. */
export function parseSetValue(raw: string): InputValue {
  try {
    const parsed = JSON.parse(raw);
    if (parsed === null || ['number', 'boolean', 'string'].includes(typeof parsed)) return parsed;
  } catch {
    // not JSON: plain text
  }
  return raw;
}
