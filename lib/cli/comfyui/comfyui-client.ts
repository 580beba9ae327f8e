import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CliError, EXIT } from '../cli-error';
import { unauthorizedError, unreachableError, validationError } from './comfyui-errors';
import { ApiWorkflow } from './workflow';

/** The header the multi-GPU image routes by (comfyui_image/multigpu/core/target_gpu.py). */
export const TARGET_GPU_HEADER = 'X-TARGET-GPU';

export interface ComfyuiEndpoint {
  /** CloudFront URL, ALB URL or http://127.0.0.1:8188; a path prefix is kept. */
  readonly url: string;
  /** Bearer token for deployments behind the edge's access control. */
  readonly token?: string;
  /** Pin every prompt to this GPU (multi-GPU image). */
  readonly gpu?: number;
  /** Timeout of each HTTP call (not of a render). @default 30000 */
  readonly requestTimeoutMs?: number;
}

/** What POST /prompt answered. `gpuId` is set by the multi-GPU image, absent on stock ComfyUI. */
export interface QueuedPrompt {
  readonly promptId: string;
  readonly number: number;
  readonly gpuId?: number;
}

/** One output file as ComfyUI lists it in `executed` messages and history outputs. */
export interface OutputFile {
  readonly filename: string;
  readonly subfolder: string;
  readonly type: string;
}

/** A `GET /history/{id}` entry (server.py get_history / execution.py PromptQueue.task_done). */
export interface HistoryEntry {
  readonly outputs: Record<string, Record<string, unknown>>;
  readonly status?: { status_str?: string; completed?: boolean; messages?: [string, Record<string, unknown>][] };
  /** The GPU that ran it (multi-GPU image only). */
  readonly gpu_id?: number;
}

/** Per-call settings of `ComfyuiClient.send`. */
export interface SendOptions {
  /** A JSON body (sent with its Content-Type). */
  readonly body?: string;
  /** @default the endpoint's requestTimeoutMs; 0: none */
  readonly timeoutMs?: number;
  /** Headers of this call only; they win over the endpoint's (e.g. a deliberately bad X-TARGET-GPU). */
  readonly headers?: Record<string, string>;
}

/** A thin client of ComfyUI's HTTP API; every failure becomes a CliError that says what to check. */
export class ComfyuiClient {
  readonly baseUrl: URL;

  constructor(private readonly endpoint: ComfyuiEndpoint) {
    this.baseUrl = parseBaseUrl(endpoint.url);
  }

  /** Headers for every call (HTTP and the WebSocket upgrade): credentials and GPU pinning. */
  headers(extra: Record<string, string> = {}): Record<string, string> {
    const headers: Record<string, string> = { ...extra };
    if (this.endpoint.token) headers.Authorization = `Bearer ${this.endpoint.token}`;
    if (this.endpoint.gpu !== undefined) headers[TARGET_GPU_HEADER] = String(this.endpoint.gpu);
    return headers;
  }

  url(pathAndQuery: string): string {
    return new URL(pathAndQuery.replace(/^\//, ''), this.baseUrl).toString();
  }

  /** ws:// or wss:// URL of the progress socket for one client id. */
  websocketUrl(clientId: string): string {
    const url = new URL(this.url(`ws?clientId=${encodeURIComponent(clientId)}`));
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    return url.toString();
  }

  /** Queues a workflow; ComfyUI's validation errors become one readable CliError. */
  async queuePrompt(workflow: ApiWorkflow, clientId: string): Promise<QueuedPrompt> {
    const response = await this.send('POST', 'prompt', { body: JSON.stringify({ prompt: workflow, client_id: clientId }) });
    const body = await readJson(response);
    if (response.status === 400) {
      const error = (body as { error?: { type?: string; message?: string } })?.error;
      if (error?.type === 'invalid_target_gpu') throw new CliError(`--gpu: ${error.message}`, EXIT.usage);
      throw validationError(body, workflow, response.status);
    }
    if (!response.ok) throw httpError('POST /prompt', response, body);
    const answer = body as { prompt_id?: unknown; number?: unknown; gpu_id?: unknown };
    if (typeof answer.prompt_id !== 'string') {
      throw new CliError(`POST /prompt answered without a prompt_id: ${JSON.stringify(body).slice(0, 300)}`, EXIT.failure);
    }
    return {
      promptId: answer.prompt_id,
      number: typeof answer.number === 'number' ? answer.number : 0,
      gpuId: typeof answer.gpu_id === 'number' ? answer.gpu_id : undefined,
    };
  }

  /** The history entry of a prompt, or undefined while it has not finished. */
  async history(promptId: string): Promise<HistoryEntry | undefined> {
    const response = await this.send('GET', `history/${encodeURIComponent(promptId)}`);
    const body = await readJson(response);
    if (!response.ok) throw httpError(`GET /history/${promptId}`, response, body);
    return (body as Record<string, HistoryEntry>)[promptId];
  }

  /**
   * Downloads one output through `GET /view` into `directory`, streaming to a temporary name and renaming
   * when complete. An existing file is never overwritten: the prompt id is added to the name instead.
   */
  async download(file: OutputFile, directory: string, promptId: string): Promise<string> {
    const query = new URLSearchParams({ filename: file.filename, subfolder: file.subfolder, type: file.type });
    const response = await this.send('GET', `view?${query}`, { timeoutMs: 0 });
    if (!response.ok || !response.body) throw httpError(`GET /view ${file.filename}`, response, await readText(response));
    const target = await freeLocalName(directory, file, promptId);
    const partial = `${target}.${randomUUID().slice(0, 8)}.part`;
    try {
      await pipeline(Readable.fromWeb(response.body as never), createWriteStream(partial, { flags: 'wx' }));
      await rename(partial, target);
    } catch (error) {
      await rm(partial, { force: true });
      throw new CliError(`download of ${file.filename} failed: ${(error as Error).message}`, EXIT.failure);
    }
    return target;
  }

  /** One HTTP call with credentials, a timeout (0: none, for streaming downloads) and clear failures. */
  async send(method: string, pathAndQuery: string, options: SendOptions = {}): Promise<Response> {
    const url = this.url(pathAndQuery);
    const timeoutMs = options.timeoutMs ?? this.endpoint.requestTimeoutMs ?? 30_000;
    const headers = { ...this.headers(options.body === undefined ? {} : { 'Content-Type': 'application/json' }), ...options.headers };
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        body: options.body,
        headers,
        signal: timeoutMs > 0 ? AbortSignal.timeout(timeoutMs) : undefined,
        redirect: 'follow',
      });
    } catch (error) {
      throw unreachableError(this.baseUrl.toString(), error);
    }
    if (response.status === 401 || response.status === 403) {
      throw unauthorizedError(this.baseUrl.toString(), response.status, Boolean(this.endpoint.token));
    }
    return response;
  }
}

function parseBaseUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CliError(`--url ${JSON.stringify(raw)} is not a URL; expected e.g. https://d111111abcdef8.cloudfront.net or http://127.0.0.1:8188`, EXIT.usage);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError(`--url must be http:// or https://, got ${url.protocol}`, EXIT.usage);
  }
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  url.search = '';
  url.hash = '';
  return url;
}

async function readText(response: Response): Promise<string> {
  try {
    return await response.text();
  } catch {
    return '';
  }
}

async function readJson(response: Response): Promise<unknown> {
  const text = await readText(response);
  try {
    return JSON.parse(text);
  } catch {
    if (response.ok) throw new CliError(`expected JSON from ${response.url}, got: ${text.slice(0, 200)}`, EXIT.failure);
    return text;
  }
}

function httpError(what: string, response: Response, body: unknown): CliError {
  const detail = typeof body === 'string' ? body : JSON.stringify(body);
  return new CliError(`${what} failed with HTTP ${response.status}: ${detail.slice(0, 500)}`, EXIT.failure);
}

/** Keeps only safe path segments of ComfyUI's subfolder and file name, so a server can't write outside `directory`. */
function safeSegments(...parts: string[]): string[] {
  return parts.flatMap((p) => p.split(/[\\/]+/)).filter((s) => s !== '' && s !== '.' && s !== '..');
}

async function freeLocalName(directory: string, file: OutputFile, promptId: string): Promise<string> {
  const segments = safeSegments(file.subfolder, file.filename);
  if (segments.length === 0) throw new CliError(`ComfyUI listed an output with no usable file name: ${JSON.stringify(file)}`, EXIT.failure);
  const target = path.join(directory, ...segments);
  await mkdir(path.dirname(target), { recursive: true });
  const exists = await stat(target).then(() => true, () => false);
  if (!exists) return target;
  const ext = path.extname(target);
  return `${target.slice(0, target.length - ext.length)}-${promptId.slice(0, 8)}${ext}`;
}
