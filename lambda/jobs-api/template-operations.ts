import { invalid, isPlainObject, notFound } from '../../lib/jobs/api-error';
import { checkWorkflowSize } from '../../lib/jobs/submit-request';
import { checkTemplateName, deriveTemplateInputs, parseTemplateRef } from '../../lib/jobs/templates';
import type { ApiWorkflow } from '../../lib/jobs/workflow';
import type { JobsApiDeps } from './deps';
import type { ApiResponse } from './http';
import type { Caller } from './job-operations';

const PUBLISH_FIELDS = new Set(['workflow', 'inputs', 'description']);
const MAX_DESCRIPTION_LENGTH = 1000;

export async function publishTemplate(deps: JobsApiDeps, caller: Caller, nameParam: string, body: unknown): Promise<ApiResponse> {
  const name = checkTemplateName(nameParam);
  if (!isPlainObject(body)) throw invalid('body', 'The body must be a JSON object: {"workflow", "inputs", "description"}');
  const unknown = Object.keys(body).find((k) => !PUBLISH_FIELDS.has(k));
  if (unknown !== undefined) throw invalid(unknown, `Unknown field '${unknown}'; a template takes ${[...PUBLISH_FIELDS].join(', ')}`);
  const description = body.description ?? null;
  if (description !== null && (typeof description !== 'string' || description.length > MAX_DESCRIPTION_LENGTH)) {
    throw invalid('description', `description must be a string of at most ${MAX_DESCRIPTION_LENGTH} characters`);
  }
  const inputs = deriveTemplateInputs(body.workflow, body.inputs);
  // A run stores the workflow in the job record, so a template must fit there too.
  checkWorkflowSize(body.workflow as ApiWorkflow);
  const document = await deps.templates.publish({
    name, description, workflow: body.workflow as ApiWorkflow, inputs, created_by: caller.user, create_time: deps.now(),
  });
  return { status: 201, body: { name, version: document.version, inputs } };
}

export async function listTemplates(deps: JobsApiDeps): Promise<ApiResponse> {
  return { status: 200, body: { templates: await deps.templates.list() } };
}

export async function showTemplate(deps: JobsApiDeps, refParam: string): Promise<ApiResponse> {
  const { name, version } = parseTemplateRef(refParam, 'name');
  const document = await deps.templates.get(name, version);
  if (document === undefined) throw notFound(`No template '${refParam}'`);
  return { status: 200, body: document };
}

export async function deleteTemplate(deps: JobsApiDeps, nameParam: string): Promise<ApiResponse> {
  const name = checkTemplateName(nameParam);
  if ((await deps.templates.delete(name)) === 0) throw notFound(`No template '${name}'`);
  return { status: 204 };
}
