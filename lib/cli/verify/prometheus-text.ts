/**
 * A reader of the Prometheus text exposition format (what GET /metrics answers), enough for counters and
 * gauges: `name{label="value",...} value [timestamp]`, `# HELP` / `# TYPE` comments skipped.
 * https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
 * (parse-prometheus-text-format on npm does more, with a dependency, for this one use.)
 */

export interface PrometheusSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Every sample of a scrape; lines it cannot read are skipped, so one odd series never hides the rest. */
export function parsePrometheusText(text: string): PrometheusSample[] {
  const samples: PrometheusSample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const sample = parseSampleLine(line);
    if (sample) samples.push(sample);
  }
  return samples;
}

/** The value of the series `name` with exactly `labels` (none by default), or undefined when absent. */
export function sampleValue(samples: readonly PrometheusSample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels);
  const match = samples.find((s) => s.name === name
    && Object.keys(s.labels).length === wanted.length
    && wanted.every(([key, value]) => s.labels[key] === value));
  return match?.value;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const SPECIAL_VALUES: Record<string, number> = { '+Inf': Infinity, Inf: Infinity, '-Inf': -Infinity, NaN: NaN };

function parseSampleLine(line: string): PrometheusSample | undefined {
  const name = NAME.exec(line)?.[0];
  if (!name) return undefined;
  let rest = line.slice(name.length);
  const labels: Record<string, string> = {};
  if (rest.startsWith('{')) {
    const parsed = parseLabels(rest.slice(1), labels);
    if (parsed === undefined) return undefined;
    rest = parsed;
  }
  const [valueText] = rest.trim().split(/\s+/);
  if (!valueText) return undefined;
  const value = valueText in SPECIAL_VALUES ? SPECIAL_VALUES[valueText] : Number(valueText);
  if (Number.isNaN(value) && valueText !== 'NaN') return undefined;
  return { name, labels, value };
}

/** Reads `a="x",b="y"}` into `labels`; returns what follows the `}`, or undefined if malformed. */
function parseLabels(text: string, labels: Record<string, string>): string | undefined {
  let rest = text.trimStart();
  while (!rest.startsWith('}')) {
    const key = LABEL_NAME.exec(rest)?.[0];
    if (!key) return undefined;
    rest = rest.slice(key.length).trimStart();
    if (!rest.startsWith('="')) return undefined;
    let value = '';
    let i = 2;
    for (; i < rest.length && rest[i] !== '"'; i += 1) {
      if (rest[i] === '\\' && i + 1 < rest.length) {
        i += 1;
        value += rest[i] === 'n' ? '\n' : rest[i];
      } else {
        value += rest[i];
      }
    }
    if (i >= rest.length) return undefined;
    labels[key] = value;
    rest = rest.slice(i + 1).trimStart();
    if (rest.startsWith(',')) rest = rest.slice(1).trimStart();
    else if (!rest.startsWith('}')) return undefined;
  }
  return rest.slice(1);
}
