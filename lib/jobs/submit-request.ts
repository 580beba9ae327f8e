import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { invalid, isPlainObject, JobsApiError } from './api-error';
import { parseTemplateRef } from './templates';
import { ApiWorkflow, checkApiWorkflow } from './workflow';

/** A checked `POST /jobs` body (docs/jobs.md, "API"): a workflow or a template reference, never both. */
export type SubmitRequest = {
  readonly webhookUrl?: string;
  readonly idempotencyKey?: string;
} & (
  | { readonly kind: 'workflow'; readonly workflow: ApiWorkflow }
  | { readonly kind: 'template'; readonly template: { name: string; version?: number }; readonly inputs: Record<string, unknown> }
);

/** DynamoDB items are at most 400 KB; the workflow is one attribute of the job (docs/jobs.md). */
export const MAX_WORKFLOW_BYTES = 300 * 1024;
const MAX_WEBHOOK_URL_LENGTH = 2048;
// Printable, no '#' (the item key's separator) and short enough for a key: what Stripe-style clients send.
const IDEMPOTENCY_KEY = /^[A-Za-z0-9_.:-]{1,128}$/;
const FIELDS = new Set(['workflow', 'template', 'inputs', 'webhook_url', 'idempotency_key']);

// Loopback, private and link-local addresses (RFC 1918, RFC 3927, RFC 4193, RFC 4291): a webhook is sent from
// AWS, so such a receiver is either a mistake or an attempt to reach something that is not meant to be public.
// A name that resolves to one is not caught here; the sender runs outside any VPC, so it reaches none of them.
const PRIVATE_IPV4 = /^(127\.|10\.|192\.168\.|169\.254\.|0\.|172\.(1[6-9]|2[0-9]|3[01])\.)/;
const PRIVATE_IPV6 = /^(::1?$|f[cd][0-9a-f]{2}:|fe[89ab][0-9a-f]:)/i;

function isPrivateHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const version = isIP(host);
  return (version === 4 && PRIVATE_IPV4.test(host)) || (version === 6 && PRIVATE_IPV6.test(host));
}

export function checkWebhookUrl(value: unknown, allowHttp: boolean, field = 'webhook_url'): string {
  if (typeof value !== 'string' || value.length > MAX_WEBHOOK_URL_LENGTH) {
    throw invalid(field, `${field} must be a URL of at most ${MAX_WEBHOOK_URL_LENGTH} characters`);
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid(field, `${field} '${value}' is not a URL`);
  }
  const allowed = allowHttp ? ['https:', 'http:'] : ['https:'];
  if (!allowed.includes(url.protocol)) throw invalid(field, `${field} must be an https:// URL, got '${url.protocol}'`);
  // Tests (allowHttp) use loopback receivers; deployments never allow http.
  if (!allowHttp && isPrivateHost(url.hostname)) throw invalid(field, `${field} must name a public host, got '${url.hostname}'`);
  if (url.username !== '' || url.password !== '') throw invalid(field, `${field} must not carry credentials; the signature authenticates the sender`);
  return value;
}

function idempotencyKeyOf(body: Record<string, unknown>, header: string | undefined): string | undefined {
  const fromBody = body.idempotency_key;
  if (fromBody !== undefined && header !== undefined && fromBody !== header) {
    throw invalid('idempotency_key', 'idempotency_key and the Idempotency-Key header differ; send one of them');
  }
  const key = fromBody ?? header;
  if (key === undefined) return undefined;
  if (typeof key !== 'string' || !IDEMPOTENCY_KEY.test(key)) {
    throw invalid('idempotency_key', 'idempotency_key must be 1-128 letters, digits or any of _ . : -');
  }
  return key;
}

/** Checks a submit body; throws 400 naming the field, or 413 for a workflow over MAX_WORKFLOW_BYTES. */
export function parseSubmitRequest(
  body: unknown, idempotencyKeyHeader: string | undefined, options: { allowHttpWebhooks: boolean },
): SubmitRequest {
  if (!isPlainObject(body)) throw invalid('body', 'The body must be a JSON object');
  const unknown = Object.keys(body).find((k) => !FIELDS.has(k));
  if (unknown !== undefined) throw invalid(unknown, `Unknown field '${unknown}'; a job takes ${[...FIELDS].join(', ')}`);
  const common = {
    webhookUrl: body.webhook_url === undefined ? undefined : checkWebhookUrl(body.webhook_url, options.allowHttpWebhooks),
    idempotencyKey: idempotencyKeyOf(body, idempotencyKeyHeader),
  };
  if ((body.workflow === undefined) === (body.template === undefined)) {
    throw invalid('workflow', 'Give exactly one of "workflow" (API format) or "template" ("name" or "name@version")');
  }
  if (body.workflow !== undefined) {
    if (body.inputs !== undefined) throw invalid('inputs', '"inputs" goes with "template", not with "workflow"');
    const workflow = checkApiWorkflow(body.workflow);
    checkWorkflowSize(workflow);
    return { kind: 'workflow', workflow, ...common };
  }
  if (typeof body.template !== 'string') throw invalid('template', 'template must be a string: "name" or "name@version"');
  const inputs = body.inputs ?? {};
  if (!isPlainObject(inputs)) throw invalid('inputs', 'inputs must be an object of input name -> value');
  return { kind: 'template', template: parseTemplateRef(body.template), inputs, ...common };
}

export function checkWorkflowSize(workflow: ApiWorkflow): string {
  const json = JSON.stringify(workflow);
  const bytes = Buffer.byteLength(json);
  if (bytes > MAX_WORKFLOW_BYTES) {
    throw new JobsApiError(413, 'too_large', `workflow is ${bytes} bytes; at most ${MAX_WORKFLOW_BYTES} fit in a job record`, 'workflow');
  }
  return json;
}

/** JSON with object keys sorted, so two bodies that mean the same hash the same. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isPlainObject(value)) {
    return `{${Object.keys(value).filter((k) => value[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** What a repeated idempotency key is compared by: the request's meaning, not its bytes. */
export function submitRequestSha256(request: SubmitRequest): string {
  const { idempotencyKey: _ignored, ...meaning } = request;
  return createHash('sha256').update(canonicalJson(meaning)).digest('hex');
}
