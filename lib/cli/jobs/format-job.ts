import { isTerminal } from '../../jobs/contract';
import { formatBytes } from '../progress';
import { progressLabel } from './job-progress';
import { JobExecutionError, JobView } from './job-view';
import { formatTable, formatTime } from './text-table';

/** `portrait@3 prompt="a cat" seed=42`, or `workflow` for a job submitted as a whole workflow. */
export function describeSource(job: JobView): string {
  const template = job.template;
  if (!template) return 'workflow';
  const inputs = Object.entries(template.inputs ?? {}).map(([name, value]) => `${name}=${JSON.stringify(value)}`);
  return [`${template.name}${template.version === undefined ? '' : `@${template.version}`}`, ...inputs].join(' ');
}

/**
 * ComfyUI's failure in one paragraph: where, what, and the end of the traceback; or the refused prompt's
 * node errors. Empty when the job has no execution_error.
 */
export function describeExecutionError(error: JobExecutionError | null | undefined): string {
  if (!error) return '';
  if (error.type === 'prompt_rejected') {
    const nodes = Object.entries(error.node_errors ?? {}).map(([id, detail]) => `  node #${id}: ${JSON.stringify(detail).slice(0, 300)}`);
    return [`failed: ComfyUI refused the prompt: ${error.exception_message ?? 'no reason given'}`, ...nodes].join('\n');
  }
  const where = error.node_id ? ` at #${error.node_id}${error.node_type ? ` ${error.node_type}` : ''}` : '';
  const kind = error.exception_type ? `${error.exception_type}: ` : error.type ? `${error.type}: ` : '';
  const lines = [`failed${where}: ${kind}${error.exception_message ?? 'no details'}`];
  const traceback = Array.isArray(error.traceback) ? error.traceback.join('') : error.traceback ?? '';
  const tail = traceback.trimEnd().split('\n').filter((l) => l.trim() !== '').slice(-5);
  if (tail.length > 0) lines.push('  traceback (last lines):', ...tail.map((l) => `    ${l.trimEnd()}`));
  return lines.join('\n');
}

/** A job as a person reads it (`comfyctl jobs get`); `--json` prints the API's view instead. */
export function formatJob(job: JobView): string {
  const rows: string[][] = [['job', `${job.id}  ${job.status}`]];
  const add = (label: string, value: string | undefined) => { if (value) rows.push([label, value]); };
  add('owner', job.owner);
  add('source', describeSource(job));
  add('created', formatTime(job.create_time));
  add('started', job.execution_start_time ? formatTime(job.execution_start_time) : undefined);
  add('finished', job.execution_end_time ? `${formatTime(job.execution_end_time)}${duration(job)}` : undefined);
  if (!isTerminal(job.status)) add('progress', progressText(job));
  add('worker', job.worker?.pod ? `${job.worker.pod}${job.worker.gpu === undefined ? '' : ` GPU ${job.worker.gpu}`}` : undefined);
  add('attempt', (job.attempt ?? 0) > 1 ? String(job.attempt) : undefined);
  add('webhook', job.webhook_url ? `${job.webhook_url}${job.webhook_state ? ` (${job.webhook_state})` : ''}` : undefined);
  const text = [formatTable(rows)];
  const outputs = job.outputs ?? [];
  if (outputs.length > 0) {
    text.push('outputs:', formatTable(outputs.map((o) => ['  ' + o.filename, o.content_type ?? o.media_type ?? '', o.size === undefined ? '' : formatBytes(o.size)])));
  }
  const error = describeExecutionError(job.execution_error);
  if (error) text.push(error);
  return text.join('\n');
}

/** One line per job for `comfyctl jobs ls`, under a header. */
export function formatJobList(jobs: readonly JobView[]): string {
  const rows = jobs.map((job) => [job.id, job.status, formatTime(job.create_time), job.owner ?? '', describeSource(job)]);
  return formatTable([['ID', 'STATUS', 'CREATED', 'OWNER', 'SOURCE'], ...rows]);
}

function progressText(job: JobView): string {
  const p = job.progress;
  const nodes = p?.nodes_total ? `, ${p.nodes_done ?? 0}/${p.nodes_total} nodes` : '';
  return `${progressLabel(job)}${nodes}`;
}

function duration(job: JobView): string {
  const start = job.execution_start_time;
  const end = job.execution_end_time;
  return start && end && end >= start ? ` (${((end - start) / 1000).toFixed(1)} s)` : '';
}
