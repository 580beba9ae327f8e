import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CliError, EXIT } from '../cli-error';
import { formatBytes, startProgress } from '../progress';
import { JobOutput } from './job-view';

export interface DownloadOptions {
  readonly outDir: string;
  readonly jobId: string;
  readonly quiet: boolean;
  readonly log: (line: string) => void;
  /**
   * Fresh outputs (new presigned URLs) when one has expired: they last 15 minutes from the job view that
   * carried them, and a long download of many files can outlive them.
   */
  readonly refresh?: () => Promise<readonly JobOutput[]>;
}

export interface DownloadedFile {
  readonly path: string;
  readonly bytes: number;
}

/** Answers of S3 to a presigned GET whose signature has expired (403) or is otherwise refused (400). */
const EXPIRED = new Set([400, 403]);

/**
 * Downloads every output of a job from its presigned URL into `outDir`, streaming each to a temporary name and
 * renaming it when complete, with one progress bar in bytes. An existing file is never overwritten: the job
 * id is added to the name. Nothing but the URL goes to S3 (no token: the URL is its own credential).
 */
export async function downloadOutputs(outputs: readonly JobOutput[], options: DownloadOptions): Promise<DownloadedFile[]> {
  await mkdir(options.outDir, { recursive: true });
  const total = outputs.reduce((sum, o) => sum + (o.size ?? 0), 0);
  const bar = startProgress({ title: 'download', total, format: formatBytes, silent: options.quiet });
  let done = 0;
  const files: DownloadedFile[] = [];
  let current = outputs;
  try {
    for (let i = 0; i < current.length; i += 1) {
      let response = await get(current[i]);
      if (EXPIRED.has(response.status) && options.refresh) {
        await response.body?.cancel();
        current = await options.refresh();
        response = await get(current[i]);
      }
      const output = current[i];
      if (!response.ok || !response.body) {
        throw new CliError(`download of ${output.filename} failed with HTTP ${response.status}: ` +
          `run 'comfyctl jobs wait ${options.jobId}' again for fresh links`, EXIT.failure);
      }
      const file = await save(response, output, options, (bytes) => bar.update(done + bytes, output.filename));
      done += file.bytes;
      files.push(file);
    }
  } finally {
    bar.stop();
  }
  for (const file of files) options.log(`saved ${file.path} (${formatBytes(file.bytes)})`);
  return files;
}

async function get(output: JobOutput): Promise<Response> {
  if (!output.url) throw new CliError(`output ${output.filename} has no download URL in the job view`, EXIT.failure);
  try {
    return await fetch(output.url);
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    throw new CliError(`cannot download ${output.filename} from ${new URL(output.url).host}: ${cause}`, EXIT.unreachable);
  }
}

async function save(response: Response, output: JobOutput, options: DownloadOptions, onBytes: (bytes: number) => void): Promise<DownloadedFile> {
  const target = await freeName(options.outDir, output.filename, options.jobId);
  const partial = `${target}.${randomUUID().slice(0, 8)}.part`;
  let bytes = 0;
  const count = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      onBytes(bytes);
      done(null, chunk);
    },
  });
  try {
    await pipeline(Readable.fromWeb(response.body as never), count, createWriteStream(partial, { flags: 'wx' }));
    if (output.size !== undefined && bytes !== output.size) {
      throw new Error(`received ${bytes} bytes, the job lists ${output.size}`);
    }
    await rename(partial, target);
  } catch (error) {
    await rm(partial, { force: true });
    throw new CliError(`download of ${output.filename} failed: ${(error as Error).message}`, EXIT.failure);
  }
  return { path: target, bytes };
}

/** `outDir/<file name>`, or `<name>-<job id>.<ext>` when taken; only the last path segment of the name is used. */
export async function freeName(outDir: string, filename: string, jobId: string): Promise<string> {
  const base = filename.split(/[\\/]+/).filter((s) => s !== '' && s !== '.' && s !== '..').pop();
  if (!base) throw new CliError(`the job lists an output with no usable file name: ${JSON.stringify(filename)}`, EXIT.failure);
  const target = path.join(outDir, base);
  if (!(await exists(target))) return target;
  const ext = path.extname(base);
  const other = path.join(outDir, `${base.slice(0, base.length - ext.length)}-${jobId.slice(0, 8)}${ext}`);
  if (!(await exists(other))) return other;
  throw new CliError(`${target} and ${other} exist already: pass another --out folder`, EXIT.usage);
}

function exists(file: string): Promise<boolean> {
  return stat(file).then(() => true, () => false);
}
