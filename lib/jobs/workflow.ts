import { invalid, isPlainObject } from './api-error';

/** One node of ComfyUI's API-format prompt (what `POST /prompt` takes): its class and its inputs. */
export interface ApiWorkflowNode {
  class_type: string;
  inputs?: Record<string, unknown>;
  [other: string]: unknown;
}

export type ApiWorkflow = Record<string, ApiWorkflowNode>;

/**
 * Checks that `value` is an API-format workflow: an object of node id -> {class_type, inputs}. The UI format
 * (the editor's save, with "nodes" and "links" arrays) is refused by name: ComfyUI's /prompt cannot run it.
 */
export function checkApiWorkflow(value: unknown, field = 'workflow'): ApiWorkflow {
  if (!isPlainObject(value)) throw invalid(field, `${field} must be an API-format workflow object (node id -> {class_type, inputs})`);
  if (Array.isArray(value.nodes) && Array.isArray(value.links)) {
    throw invalid(field, `${field} is in ComfyUI's UI format ("nodes" and "links"); export it with "Export (API)" in ComfyUI's workflow menu`);
  }
  const ids = Object.keys(value);
  if (ids.length === 0) throw invalid(field, `${field} has no nodes`);
  for (const id of ids) {
    const node = value[id];
    if (!isPlainObject(node) || typeof node.class_type !== 'string' || node.class_type === '') {
      throw invalid(`${field}.${id}`, `Node '${id}' of ${field} must be an object with a "class_type" string`);
    }
    if (node.inputs !== undefined && !isPlainObject(node.inputs)) {
      throw invalid(`${field}.${id}.inputs`, `Node '${id}' of ${field} has "inputs" that is not an object`);
    }
  }
  return value as ApiWorkflow;
}
