import { createHash } from 'node:crypto';
import { Readable, Transform, TransformCallback } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { isSecureDownloadUrl } from './download-url';

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

/** The download is not the file the manifest's `sha256` names; nothing was written. */
export class ChecksumMismatchError extends DownloadError {
  constructor(url: string, readonly expected: string, readonly actual: string) {
    super(
      `sha256 mismatch for ${url}: the manifest expects ${expected}, the download is ${actual}; nothing was written ` +
        "(check the URL, or update 'sha256' if the model changed on purpose)",
    );
    this.name = 'ChecksumMismatchError';
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
  if (!isSecureDownloadUrl(url)) return false;
  const hostname = url.hostname.replace(/\.$/, '');
  return hosts.some((h) => hostname === h.toLowerCase() || url.host === h.toLowerCase());
}

/**
 * fetch() with redirects followed by hand, so the Authorization header goes only to token hosts: the
 * fetch standard drops it on cross-origin redirects, but this keeps the rule visible and tested. Every hop
 * must be https (or loopback http): a redirect to plain http would undo the manifest's https rule.
 */
export async function fetchFollowingRedirects(
  url: string,
  method: 'GET' | 'HEAD',
  auth: DownloadAuth,
  signal?: AbortSignal,
): Promise<Response> {
  let current = new URL(url);
  for (let hop = 0; hop <= MAX_REDIRECTS; hop += 1) {
    if (!isSecureDownloadUrl(current)) {
      // The host only: a redirect target may be a signed URL.
      throw new DownloadError(hop === 0
        ? `${url} is not https: refusing a download that could be swapped on the way`
        : `${url} redirects to plain ${current.protocol}//${current.host}: refusing a download that could be swapped on the way`);
    }
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

/** What a body must be: its announced length and the manifest's SHA-256, each when known. */
export interface ExpectedBody {
  readonly size?: number;
  /** 64 lower-case hex digits. */
  readonly sha256?: string;
}

/**
 * The body on its way to S3: counts and hashes every byte, and fails the stream instead of ending it when the
 * body ends short of (or runs past) the announced length or its SHA-256 is not the expected one. A failed
 * stream fails the upload before it completes (no PutObject, an aborted multipart upload), so neither a cut
 * connection nor a swapped file leaves an object in the bucket.
 */
export class BodyCheck extends Transform {
  private seen = 0;
  private readonly hash = createHash('sha256');
  private digest?: string;

  constructor(private readonly expected: ExpectedBody, private readonly url: string) {
    super();
  }

  /** The body's SHA-256 (hex) once it has ended; undefined before. */
  get sha256(): string | undefined {
    return this.digest;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    const { size } = this.expected;
    if (size !== undefined && this.seen > size) {
      done(new DownloadError(`${this.url} sent more than the ${size} bytes it announced`));
      return;
    }
    this.hash.update(chunk);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    const { size, sha256 } = this.expected;
    if (size !== undefined && this.seen !== size) {
      done(new DownloadError(`${this.url} ended after ${this.seen} of ${size} bytes`));
      return;
    }
    this.digest = this.hash.digest('hex');
    if (sha256 !== undefined && this.digest !== sha256) done(new ChecksumMismatchError(this.url, sha256, this.digest));
    else done();
  }
}

export interface Download {
  readonly body: BodyCheck;
  /** From Content-Length; undefined for chunked responses. */
  readonly size?: number;
}

/**
 * Starts a GET and returns its body as a stream checked against Content-Length and `sha256` (see BodyCheck);
 * non-2xx is a DownloadError.
 */
export async function openDownload(url: string, auth: DownloadAuth, signal?: AbortSignal, sha256?: string): Promise<Download> {
  const response = await fetchFollowingRedirects(url, 'GET', auth, signal);
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new DownloadError(statusProblem(response, url));
  }
  const size = contentLength(response);
  const source = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
  const checked = new BodyCheck({ size, sha256 }, url);
  // A broken connection fails the checked stream, which fails the upload; a destroyed (interrupted) upload
  // closes the connection.
  source.on('error', (error) => checked.destroy(new DownloadError(`download of ${url} broke off: ${error.message}`)));
  checked.on('close', () => source.destroy());
  source.pipe(checked);
  return { body: checked, size };
}
