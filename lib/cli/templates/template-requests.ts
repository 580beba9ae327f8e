import { TemplateBinding, TemplateInput } from '../../jobs/templates';
import { JobsApi } from '../jobs/jobs-api';
import { ApiWorkflow } from '../comfyui/workflow';
import { TemplateRef, formatTemplateRef, templatePath } from './template-ref';

export interface TemplateSummary {
  readonly name: string;
  readonly latest_version: number;
  readonly description?: string | null;
  readonly updated_time?: number;
}

export interface TemplateVersion {
  readonly name: string;
  readonly version: number;
  readonly inputs: TemplateInput[];
  readonly workflow?: ApiWorkflow;
  readonly description?: string | null;
  readonly created_by?: string;
  readonly create_time?: number;
}

export interface PublishBody {
  readonly workflow: ApiWorkflow;
  readonly inputs: Record<string, TemplateBinding>;
  readonly description?: string;
}

function notFound(ref: TemplateRef): string {
  return `template ${formatTemplateRef(ref)} not found: 'comfyctl templates ls' lists the published ones`;
}

/** Publishes a new version; not repeated on failure, since each PUT that arrives takes a new version number. */
export async function publishTemplate(api: JobsApi, name: string, body: PublishBody): Promise<TemplateVersion> {
  return (await api.call<TemplateVersion>({ method: 'PUT', path: templatePath({ name }), body, repeatable: false })).body;
}

export async function listTemplates(api: JobsApi): Promise<TemplateSummary[]> {
  return (await api.call<{ templates: TemplateSummary[] }>({ method: 'GET', path: 'templates' })).body.templates;
}

export async function getTemplate(api: JobsApi, ref: TemplateRef): Promise<TemplateVersion> {
  return (await api.call<TemplateVersion>({ method: 'GET', path: templatePath(ref), notFound: notFound(ref) })).body;
}

export async function removeTemplate(api: JobsApi, name: string): Promise<void> {
  await api.call<undefined>({ method: 'DELETE', path: templatePath({ name }), notFound: notFound({ name }) });
}
