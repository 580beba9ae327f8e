import { CliError, EXIT } from '../cli-error';

/**
 * Repeated `--input NAME...` options as one record by name, each read by `parse`. A name given twice is
 * refused, since only one of its values could be used.
 */
export function namedInputs<T>(raw: readonly string[], parse: (one: string) => [string, T]): Record<string, T> {
  const inputs: Record<string, T> = {};
  for (const one of raw) {
    const [name, value] = parse(one);
    if (Object.prototype.hasOwnProperty.call(inputs, name)) throw new CliError(`--input ${name} is given twice; give each input once`, EXIT.usage);
    inputs[name] = value;
  }
  return inputs;
}
