import { readFileSync } from 'node:fs';
import { CliError, EXIT } from '../cli-error';

/** An input value: a literal, or a link `[sourceNodeId, outputIndex]` to another node's output. */
export type InputValue = string | number | boolean | null | [string, number] | unknown[] | Record<string, unknown>;

export interface WorkflowNode {
  class_type: string;
  inputs: Record<string, InputValue>;
  _meta?: { title?: string };
}

/** ComfyUI's API format ("Save (API)" / "Export (API)"): node id -> node. What POST /prompt accepts. */
export type ApiWorkflow = Record<string, WorkflowNode>;

/** True when `value` is a link to another node's output rather than a literal. */
export function isLink(value: unknown): value is [string, number] {
  return Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'number';
}

/**
 * Checks a parsed document is an API-format workflow and returns it. The web UI's regular "Save" format
 * (a graph with `nodes` and `links` arrays) is the most common mistake, so it gets its own message.
 */
export function parseApiWorkflow(document: unknown, source: string): ApiWorkflow {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new CliError(`${source}: expected a JSON object of nodes (ComfyUI's API format)`, EXIT.usage);
  }
  const record = document as Record<string, unknown>;
  if (Array.isArray(record.nodes) && Array.isArray(record.links)) {
    throw new CliError(
      `${source} is a UI-format workflow (nodes and links). In ComfyUI, export it with "Export (API)" ` +
        '(or "Save (API Format)" with dev mode on) and pass that file',
      EXIT.usage,
    );
  }
  const ids = Object.keys(record);
  if (ids.length === 0) throw new CliError(`${source}: the workflow has no nodes`, EXIT.usage);
  for (const id of ids) {
    const node = record[id] as Partial<WorkflowNode> | null;
    if (typeof node !== 'object' || node === null || typeof node.class_type !== 'string' || node.class_type === '') {
      throw new CliError(`${source}: node "${id}" has no class_type; is this an API-format workflow?`, EXIT.usage);
    }
    if (typeof node.inputs !== 'object' || node.inputs === null || Array.isArray(node.inputs)) {
      throw new CliError(`${source}: node "${id}" (${node.class_type}) has no inputs object`, EXIT.usage);
    }
  }
  return record as ApiWorkflow;
}

/** Reads and checks an API-format workflow file. */
export function loadApiWorkflow(file: string): ApiWorkflow {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read workflow ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, EXIT.usage);
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new CliError(`${file} is not valid JSON: ${(error as Error).message}`, EXIT.usage);
  }
  return parseApiWorkflow(document, file);
}

/** How to name a node to a person: `#3 KSampler` or `#3 "Refiner" (KSampler)`. */
export function describeNode(workflow: ApiWorkflow | undefined, nodeId: string): string {
  const node = workflow?.[nodeId];
  if (!node) return `#${nodeId}`;
  const title = node._meta?.title;
  return title && title !== node.class_type ? `#${nodeId} "${title}" (${node.class_type})` : `#${nodeId} ${node.class_type}`;
}
