import { CliError, EXIT } from '../cli-error';
import { ApiWorkflow, describeNode } from './workflow';

/** The part of ComfyUI's 400 answer to POST /prompt we read (execution.py validate_prompt). */
interface ComfyErrorBody {
  error?: { type?: string; message?: string; details?: string; header?: string; valid_range?: number[] } | string;
  node_errors?: Record<string, { class_type?: string; errors?: { message?: string; details?: string; extra_info?: { input_name?: string } }[] }> | unknown[];
}

/**
 * Turns ComfyUI's validation answer into one readable error: the reason, then one line per failing
 * node and input, e.g. `#3 KSampler, input 'steps': Value 0 smaller than min of 1`.
 */
export function validationError(body: unknown, workflow: ApiWorkflow | undefined, httpStatus: number): CliError {
  const parsed = (typeof body === 'object' && body !== null ? body : {}) as ComfyErrorBody;
  const error = typeof parsed.error === 'string' ? { message: parsed.error } : parsed.error ?? {};
  const lines = [`ComfyUI rejected the workflow (HTTP ${httpStatus}): ${error.message ?? 'no reason given'}`];
  if (error.details) lines.push(`  ${error.details}`);
  const nodeErrors = parsed.node_errors;
  if (nodeErrors && !Array.isArray(nodeErrors)) {
    for (const [id, entry] of Object.entries(nodeErrors)) {
      const where = workflow?.[id] ? describeNode(workflow, id) : `#${id} ${entry.class_type ?? ''}`.trim();
      for (const e of entry.errors ?? []) {
        const input = e.extra_info?.input_name ? `, input '${e.extra_info.input_name}'` : '';
        const detail = e.details && e.details !== e.message ? ` (${e.details})` : '';
        lines.push(`  ${where}${input}: ${e.message ?? 'invalid'}${detail}`);
      }
    }
  }
  return new CliError(lines.join('\n'), EXIT.validation);
}

/** A failed fetch (DNS, refused, TLS, timeout) as an error that says what to check. */
export function unreachableError(url: string, error: unknown): CliError {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  const reason = (error as Error)?.name === 'TimeoutError' ? 'no answer in time' : cause?.code ?? cause?.message ?? (error as Error)?.message;
  return new CliError(
    `cannot reach ${url}: ${reason}. Check --url (the CloudFront URL is CloudFrontEntry.CloudFrontUrl in cdk-outputs.json; ` +
      'the ALB is internal and answers only inside the VPC)',
    EXIT.unreachable,
  );
}

/** 401/403 from the edge, the ALB or WAF, with what to do about it. */
export function unauthorizedError(url: string, status: number, hadToken: boolean): CliError {
  if (status === 401) {
    return new CliError(
      hadToken
        ? `${url} answered 401: the token was refused. Check it, or get a new one with 'comfyctl users rotate <name>'`
        : `${url} answered 401: this deployment requires a token. Pass --token or set COMFYUI_TOKEN ('comfyctl users add <name>' creates one)`,
      EXIT.unauthorized,
    );
  }
  return new CliError(
    `${url} answered 403 Forbidden: the request was refused before ComfyUI (a WAF rule or rate limit, or a URL that is not the deployment's)`,
    EXIT.unauthorized,
  );
}
