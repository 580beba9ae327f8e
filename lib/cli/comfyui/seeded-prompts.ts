import { ApiWorkflow, loadApiWorkflow } from './workflow';
import { WorkflowOverrides, applyOverrides } from './workflow-overrides';

/**
 * Loads a workflow with its overrides and returns a source of copies, each with the next seed, so ComfyUI's
 * output cache answers none of them and every prompt really runs.
 */
export function seededPrompts(workflowFile: string, overrides: WorkflowOverrides, firstSeed = Date.now() % 1_000_000_000): () => ApiWorkflow {
  const base = applyOverrides(loadApiWorkflow(workflowFile), overrides).workflow;
  let seed = firstSeed;
  return () => applyOverrides(base, { seed: seed++ }).workflow;
}
