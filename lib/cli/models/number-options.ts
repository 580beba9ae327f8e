import { InvalidArgumentError } from 'commander';
import { MIN_PART_SIZE_MIB } from './upload-plan';

/** Commander parser for `--part-size <MiB>`: a whole number of MiB, at least S3's 5 MiB minimum. */
export function parsePartSizeMiB(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < MIN_PART_SIZE_MIB || n > 5 * 1024) {
    throw new InvalidArgumentError(`must be a whole number of MiB from ${MIN_PART_SIZE_MIB} to 5120, got '${value}'`);
  }
  return n;
}

/** Commander parser for `--concurrency <n>`: parts in flight, 1..64. */
export function parseConcurrency(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new InvalidArgumentError(`must be a whole number from 1 to 64, got '${value}'`);
  return n;
}

const DURATION_UNITS_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Commander parser for `--since <duration>`: `30m`, `12h`, `7d`; returns milliseconds. */
export function parseDuration(value: string): number {
  const match = /^(\d+)([mhd])$/.exec(value.trim());
  if (!match || Number(match[1]) === 0) {
    throw new InvalidArgumentError(`must be a positive number of minutes, hours or days such as 30m, 12h or 7d, got '${value}'`);
  }
  return Number(match[1]) * DURATION_UNITS_MS[match[2]];
}
