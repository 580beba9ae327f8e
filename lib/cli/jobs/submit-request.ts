import { parseSubmitRequest } from '../../jobs/submit-request';
import { CliError, EXIT } from '../cli-error';
import { ApiWorkflow } from '../comfyui/workflow';
import { checkLikeTheApi } from './local-check';
import { namedInputs } from './named-inputs';
import { TemplateRef, formatTemplateRef } from '../templates/template-ref';

/** The body of `POST /render-api/v1/jobs` (docs/jobs.md): a workflow, or a template with its inputs. */
export interface SubmitBody {
  readonly workflow?: ApiWorkflow;
  readonly template?: string;
  readonly inputs?: Record<string, unknown>;
  readonly webhook_url?: string;
  readonly idempotency_key: string;
}

export interface SubmitSource {
  /** An API-format workflow, already read and checked. */
  readonly workflow?: ApiWorkflow;
  readonly template?: TemplateRef;
  /** `--input` values by name (templates only). */
  readonly inputs: Record<string, unknown>;
  readonly webhookUrl?: string;
  readonly idempotencyKey: string;
}

/**
 * One `--input name=value`. The value is JSON when it parses (`seed=42` is a number, `hires=true` a boolean,
 * `prompt='"42"'` the string "42"), else the text as it is (`prompt=a cat`), so quoting is rarely needed.
 */
export function parseInputAssignment(raw: string): [string, unknown] {
  const eq = raw.indexOf('=');
  const name = eq < 0 ? '' : raw.slice(0, eq).trim();
  if (name === '') throw new CliError(`--input ${JSON.stringify(raw)}: expected NAME=VALUE, e.g. --input prompt="a cat" --input seed=42`, EXIT.usage);
  const text = raw.slice(eq + 1);
  try {
    return [name, JSON.parse(text)];
  } catch {
    return [name, text];
  }
}

/** Every `--input`, by name. */
export function parseInputs(raw: readonly string[]): Record<string, unknown> {
  return namedInputs(raw, parseInputAssignment);
}

/** Which option sets each body field, to name it in a refusal. */
const SUBMIT_FLAGS = { workflow: 'FILE', template: '--template', inputs: '--input', webhook_url: '--webhook', idempotency_key: '--idempotency-key' };

/** The submit body; the template's inputs are checked by the API, which knows the template's schema. */
export function buildSubmitBody(source: SubmitSource): SubmitBody {
  if ((source.workflow === undefined) === (source.template === undefined)) {
    throw new CliError('pass either a workflow FILE or --template NAME[@VERSION], not both and not neither', EXIT.usage);
  }
  if (source.workflow && Object.keys(source.inputs).length > 0) {
    throw new CliError('--input sets a template input: use it with --template (a workflow FILE is sent as it is)', EXIT.usage);
  }
  const body: SubmitBody = {
    ...(source.workflow ? { workflow: source.workflow } : { template: formatTemplateRef(source.template!), inputs: source.inputs }),
    ...(source.webhookUrl === undefined ? {} : { webhook_url: source.webhookUrl }),
    idempotency_key: source.idempotencyKey,
  };
  // The API's own check of the body (size, webhook URL, key format); whether the deployment takes plain-http
  // webhooks only it knows, so that one rule is left to it.
  checkLikeTheApi(() => parseSubmitRequest(body, undefined, { allowHttpWebhooks: true }), EXIT.usage, SUBMIT_FLAGS);
  return body;
}
