import { SingleBar } from 'cli-progress';

/** A progress display: a bar on a terminal, a line every few seconds otherwise (CI logs, pipes). */
export interface Progress {
  /** Moves to `value` of `total`; `label` says what is happening now (node, step, file). */
  update(value: number, label?: string): void;
  setTotal(total: number): void;
  stop(): void;
}

export interface ProgressOptions {
  readonly title: string;
  readonly total: number;
  /** How to print a value, e.g. bytes as MiB. @default String */
  readonly format?: (value: number) => string;
  /** Where to draw. @default process.stderr */
  readonly stream?: NodeJS.WriteStream;
  /** Seconds between lines when the stream is not a terminal. @default 5 */
  readonly lineIntervalS?: number;
  /** Draw nothing (`--quiet`). @default false */
  readonly silent?: boolean;
}

/** Where status lines go (stderr, so stdout stays clean for results); nowhere with `--quiet`. */
export function statusLog(quiet: boolean): (line: string) => void {
  return quiet ? () => undefined : (line: string) => process.stderr.write(`${line}\n`);
}

/** Starts a progress display on stderr, so stdout stays clean for results. */
export function startProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  const format = options.format ?? String;
  if (options.silent) return { update: () => undefined, setTotal: () => undefined, stop: () => undefined };
  if (stream.isTTY) return terminalBar(options, stream, format);
  return periodicLines(options, stream, format);
}

function terminalBar(options: ProgressOptions, stream: NodeJS.WriteStream, format: (v: number) => string): Progress {
  const bar = new SingleBar({
    stream,
    format: `${options.title} [{bar}] {percentage}% {done}/{all} {label}`,
    hideCursor: true,
    clearOnComplete: false,
  });
  let total = options.total;
  bar.start(total, 0, { label: '', done: format(0), all: format(total) });
  return {
    update: (value, label) => bar.update(value, { label: label ?? '', done: format(value), all: format(total) }),
    setTotal: (next) => { total = next; bar.setTotal(next); },
    stop: () => bar.stop(),
  };
}

function periodicLines(options: ProgressOptions, stream: NodeJS.WriteStream, format: (v: number) => string): Progress {
  const intervalMs = (options.lineIntervalS ?? 5) * 1000;
  let total = options.total;
  let last = 0;
  let lastLine = '';
  let latest: [number, string | undefined] = [0, undefined];
  const print = (value: number, label?: string) => {
    const percent = total > 0 ? Math.floor((100 * value) / total) : 0;
    const line = `${options.title}: ${percent}% ${format(value)}/${format(total)}${label ? ` ${label}` : ''}`;
    if (line !== lastLine) stream.write(`${line}\n`);
    lastLine = line;
  };
  return {
    update: (value, label) => {
      latest = [value, label];
      const now = Date.now();
      if (now - last >= intervalMs || (total > 0 && value >= total)) {
        last = now;
        print(value, label);
      }
    },
    setTotal: (next) => { total = next; },
    // The last state is always shown, however short the run.
    stop: () => print(...latest),
  };
}

/** Bytes as a short human string: 1.5 GiB, 20.0 MiB, 512 B. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}
