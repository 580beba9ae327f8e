import { Readable, Transform } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

/** A bearer token and the hosts it may be sent to. */
export interface DownloadAuth {
  readonly token?: string;
  /** Hosts that receive the token, matched exactly (a subdomain is another host), e.g. huggingface.co. */
  readonly tokenHosts: readonly string[];
}

/** A download that did not start or did not finish, with the manifest's URL (never a signed redirect URL). */
export class DownloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DownloadError';
  }
}

/** Hugging Face's default for gated models (the exact host, not its CDN subdomains); more hosts with --token-host. */
export const DEFAULT_TOKEN_HOSTS = ['huggingface.co'];

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 10;

/**
 * Whether `url` may receive the token: https (or loopback http, for tests) to a listed host, matched exactly
 * (`host` or `host:port`). Subdomains do not count: Hugging Face redirects downloads to CDN hosts such as
 * cdn-lfs.huggingface.co with a signed URL, and the token must not travel there.
 */
export function sendsTokenTo(url: URL, hosts: readonly string[]): boolean {
  const loopback = url.hostname === '127.0.0.1' || url.hostname === 'localhost';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) return false;
  const hostname = url.hostname.replace(/\.$/, '');
  return hosts.some((h) => hostname === h.toLowerCase() || url.host === h.toLowerCase());
}

/**
 * fetch() with redirects followed by hand, so the Authorization header goes only to token hosts: the
 * fetch standard drops it on cross-origin redirects, but this keeps the rule visible and tested.
 */
export async function fetchFollowingRedirects(
  url: string,
  method: 'GET' | 'HEAD',
  auth: DownloadAuth,
  signal?: AbortSignal,
): Promise<Response> {
  let current = new URL(url);
  for (let hop = 0; hop <= MAX_REDIRECTS; hop += 1) {
    const headers: Record<string, string> = { 'user-agent': 'comfyctl (comfyui-on-eks)' };
    if (auth.token && sendsTokenTo(current, auth.tokenHosts)) headers.authorization = `Bearer ${auth.token}`;
    let response: Response;
    try {
      response = await fetch(current, { method, headers, redirect: 'manual', signal });
    } catch (error) {
      const cause = (error as Error & { cause?: Error }).cause;
      throw new DownloadError(`cannot reach ${current.host} for ${url}: ${cause?.message ?? (error as Error).message}`);
    }
    const location = response.headers.get('location');
    if (!REDIRECTS.has(response.status) || !location) return response;
    await response.body?.cancel();
    current = new URL(location, current);
  }
  throw new DownloadError(`${url} redirects more than ${MAX_REDIRECTS} times`);
}

function statusProblem(response: Response, url: string): string {
  const hint = response.status === 401 || response.status === 403
    ? ': the model may be gated or private; accept its license on the model page and pass --hf-token or set HF_TOKEN'
    : '';
  return `HTTP ${response.status} ${response.statusText} from ${url}${hint}`;
}

function contentLength(response: Response): number | undefined {
  const header = response.headers.get('content-length');
  const n = header === null ? NaN : Number(header);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/**
 * The size a URL says it serves (HEAD, redirects followed), or undefined when it does not say. A refused
 * HEAD counts as not saying: presigned GET URLs, for one, reject every other method.
 */
export async function remoteSize(url: string, auth: DownloadAuth): Promise<number | undefined> {
  const response = await fetchFollowingRedirects(url, 'HEAD', auth);
  await response.body?.cancel();
  return response.ok ? contentLength(response) : undefined;
}

/**
 * A byte counter that fails the stream when the body ends short of (or runs past) the announced length, so
 * a cut connection fails the upload instead of completing a truncated model.
 */
export function lengthCheck(expected: number | undefined, url: string): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (expected !== undefined && seen > expected) done(new DownloadError(`${url} sent more than the ${expected} bytes it announced`));
      else done(null, chunk);
    },
    flush(done) {
      if (expected !== undefined && seen !== expected) done(new DownloadError(`${url} ended after ${seen} of ${expected} bytes`));
      else done();
    },
  });
}

export interface Download {
  readonly body: Readable;
  /** From Content-Length; undefined for chunked responses. */
  readonly size?: number;
}

/** Starts a GET and returns its body as a stream checked against Content-Length; non-2xx is a DownloadError. */
export async function openDownload(url: string, auth: DownloadAuth, signal?: AbortSignal): Promise<Download> {
  const response = await fetchFollowingRedirects(url, 'GET', auth, signal);
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new DownloadError(statusProblem(response, url));
  }
  const size = contentLength(response);
  const source = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
  const checked = lengthCheck(size, url);
  // A broken connection fails the checked stream, which fails the upload; a destroyed (interrupted) upload
  // closes the connection.
  source.on('error', (error) => checked.destroy(new DownloadError(`download of ${url} broke off: ${error.message}`)));
  checked.on('close', () => source.destroy());
  source.pipe(checked);
  return { body: checked, size };
}
