import { InvalidArgumentError } from 'commander';

/** A commander parser for an integer option within [min, max]; the error names the range. */
export function integerIn(min: number, max: number): (raw: string) => number {
  return (raw: string) => {
    const value = Number(raw);
    if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    }
    return value;
  };
}

/** A commander parser for a positive number of seconds, returned in milliseconds. */
export function secondsAsMs(raw: string): number {
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new InvalidArgumentError(`expected a positive number of seconds, got ${JSON.stringify(raw)}`);
  return Math.round(value * 1000);
}

/** A commander parser for a positive number (a ratio, a factor). */
export function positiveNumber(raw: string): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value <= 0) throw new InvalidArgumentError(`expected a positive number, got ${JSON.stringify(raw)}`);
  return value;
}

/** Collects a repeatable option into an array. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
