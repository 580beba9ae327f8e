import { formatTable, formatTime } from '../jobs/text-table';
import { TemplateInput } from '../../jobs/templates';
import { TemplateSummary, TemplateVersion } from './template-requests';

/** `comfyctl templates ls`: one line per template under a header. */
export function formatTemplateList(templates: readonly TemplateSummary[]): string {
  const rows = templates.map((t) => [t.name, String(t.latest_version), formatTime(t.updated_time), t.description ?? '']);
  return formatTable([['NAME', 'LATEST', 'UPDATED', 'DESCRIPTION'], ...rows]);
}

/** The inputs a run takes: `--input NAME=...`, where it goes, its type, default and bounds. */
export function formatInputs(inputs: readonly TemplateInput[]): string {
  const rows = inputs.map((i) => [i.name, `${i.node}.${i.input}`, i.type, i.default === null || i.default === undefined ? '(required)' : JSON.stringify(i.default), bounds(i)]);
  return formatTable([['INPUT', 'PATH', 'TYPE', 'DEFAULT', 'RANGE'], ...rows]);
}

/** `comfyctl templates show`: the version's facts, then its inputs and how to run it. */
export function formatTemplate(template: TemplateVersion): string {
  const facts = formatTable([
    ['template', `${template.name}@${template.version}`],
    ['description', template.description ?? ''],
    ['created', `${formatTime(template.create_time)}${template.created_by ? ` by ${template.created_by}` : ''}`],
  ].filter(([, value]) => value !== ''));
  const example = template.inputs.slice(0, 2).map((i) => ` --input ${i.name}=${exampleValue(i)}`).join('');
  return `${facts}\n${formatInputs(template.inputs)}\nrun: comfyctl jobs submit --template ${template.name}@${template.version}${example}`;
}

function bounds(input: TemplateInput): string {
  const min = input.min ?? undefined;
  const max = input.max ?? undefined;
  if (min === undefined && max === undefined) return '';
  return `${min ?? ''}..${max ?? ''}`;
}

function exampleValue(input: TemplateInput): string {
  if (input.default === undefined || input.default === null) return '...';
  return typeof input.default === 'string' ? JSON.stringify(input.default) : String(input.default);
}
