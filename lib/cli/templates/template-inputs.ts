import { TemplateBinding } from '../../jobs/templates';
import { CliError, EXIT } from '../cli-error';
import { namedInputs } from '../jobs/named-inputs';

const FORMAT = 'expected NAME=NODE.INPUT[:MIN:MAX], e.g. --input prompt=6.text --input seed=3.seed:0:4294967295';

/**
 * One `--input name=node.input[:min[:max]]` as the API's binding: `"6.text"`, or `{"path": "3.seed", "min": 0}`.
 * The node id ends at the first '.', since ComfyUI's ids may hold ':' (nodes of an expanded subgraph are `10:2`)
 * but never '.'; an input name holds neither.
 */
export function parseInputBinding(raw: string): [string, TemplateBinding] {
  const match = /^([^=]+)=([^.]+)\.([A-Za-z_][A-Za-z0-9_]*)(?::([^:]*))?(?::([^:]*))?$/.exec(raw.trim());
  if (!match) throw new CliError(`--input ${JSON.stringify(raw)}: ${FORMAT}`, EXIT.usage);
  const [, name, node, input, min, max] = match;
  const path = `${node}.${input}`;
  const bounds = { min: bound(raw, 'MIN', min), max: bound(raw, 'MAX', max) };
  if (bounds.min !== undefined && bounds.max !== undefined && bounds.min > bounds.max) {
    throw new CliError(`--input ${JSON.stringify(raw)}: MIN ${bounds.min} is above MAX ${bounds.max}`, EXIT.usage);
  }
  if (bounds.min === undefined && bounds.max === undefined) return [name.trim(), path];
  return [name.trim(), { path, ...(bounds.min === undefined ? {} : { min: bounds.min }), ...(bounds.max === undefined ? {} : { max: bounds.max }) }];
}

/** Every `--input` (none is fine: a fixed workflow run by name). */
export function parseInputBindings(raw: readonly string[]): Record<string, TemplateBinding> {
  return namedInputs(raw, parseInputBinding);
}

function bound(raw: string, which: string, text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isFinite(value)) throw new CliError(`--input ${JSON.stringify(raw)}: ${which} must be a number, got ${JSON.stringify(text)}`, EXIT.usage);
  return value;
}
