import { readdirSync, readFileSync } from 'fs';
import * as path from 'path';
import { gzipSync } from 'zlib';
import { NODE_SYNC_DIR } from './node-sync-bundle';

/** The sync program's entry script, relative to NODE_SYNC_DIR. */
export const NODE_SYNC_ENTRY = 'sync_models.py';
/** Its package (the modules sync_models.py imports), relative to NODE_SYNC_DIR. */
export const NODE_SYNC_PACKAGE = 'model_sync';

/** The files of the sync program, relative to NODE_SYNC_DIR, in a fixed order: the entry, then every module. */
export function nodeSyncProgramFiles(dir: string = NODE_SYNC_DIR): string[] {
  const modules = readdirSync(path.join(dir, NODE_SYNC_PACKAGE)).filter((name) => name.endsWith('.py')).sort();
  return [NODE_SYNC_ENTRY, ...modules.map((name) => `${NODE_SYNC_PACKAGE}/${name}`)];
}

const BLOCK = 512;

/** A ustar header for a regular file (POSIX.1-1988; Python's tarfile and GNU tar read it). */
function tarHeader(name: string, size: number): Buffer {
  if (Buffer.byteLength(name) > 100) throw new Error(`${name}: tar names over 100 bytes need a prefix field`);
  const header = Buffer.alloc(BLOCK, 0);
  const octal = (value: number, width: number) => value.toString(8).padStart(width - 1, '0') + '\0';
  header.write(name, 0, 'utf8');
  header.write(octal(0o644, 8), 100);
  header.write(octal(0, 8), 108); // uid
  header.write(octal(0, 8), 116); // gid
  header.write(octal(size, 12), 124);
  header.write(octal(0, 12), 136); // mtime: fixed, so the same files give the same archive
  header.write(' '.repeat(8), 148); // the checksum field counts as spaces while summing
  header.write('0', 156); // regular file
  header.write('ustar\0' + '00', 257);
  const sum = header.reduce((total, byte) => total + byte, 0);
  header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return header;
}

/**
 * The sync program as a gzipped tar, byte for byte the same for the same files (no times, owners or
 * platform in it): the SSM document carries it in base64, which keeps the document under SSM's 64 KB limit.
 */
export function nodeSyncArchive(dir: string = NODE_SYNC_DIR): Buffer {
  const parts: Buffer[] = [];
  for (const name of nodeSyncProgramFiles(dir)) {
    const body = readFileSync(path.join(dir, name));
    parts.push(tarHeader(name, body.length), body, Buffer.alloc((BLOCK - (body.length % BLOCK)) % BLOCK, 0));
  }
  parts.push(Buffer.alloc(2 * BLOCK, 0));
  const gz = gzipSync(Buffer.concat(parts), { level: 9 });
  gz[9] = 3; // the header's OS byte, which zlib sets by the platform it was built for: always "Unix"
  return gz;
}
