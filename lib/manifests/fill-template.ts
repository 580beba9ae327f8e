/**
 * `{{ name }}` substitution for the manifests. A token alone on its line takes a multi-line value, each
 * line indented like the token (YAML block scalars), and an empty value removes that line (an optional field or
 * list item, such as the Deployment's `replicas`, absent while KEDA owns the count); lists become JSON flow
 * sequences (valid YAML).
 * Every token must have a value and no token may survive: a manifest is applied as rendered, or not at all.
 */
export type TemplateValue = string | number | readonly string[];
export type TemplateValues = Readonly<Record<string, TemplateValue>>;

const TOKEN = /\{\{\s*([A-Za-z][A-Za-z0-9]*)\s*\}\}/g;
const BLOCK_TOKEN = /^([ \t]*)\{\{\s*([A-Za-z][A-Za-z0-9]*)\s*\}\}[ \t]*$/;

export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

function inline(value: TemplateValue): string {
  if (Array.isArray(value)) return JSON.stringify(value);
  return String(value);
}

export function fillTemplate(text: string, values: TemplateValues, fileName: string): string {
  const lookup = (name: string, line: number): TemplateValue => {
    const value = values[name];
    if (value === undefined) {
      throw new TemplateError(`${fileName}:${line}: no value for {{ ${name} }}; known values: ${Object.keys(values).sort().join(', ')}`);
    }
    return value;
  };
  const filled = text.split('\n').flatMap((lineText, index) => {
    const line = index + 1;
    const block = BLOCK_TOKEN.exec(lineText);
    if (block) {
      const value = lookup(block[2], line);
      if (value === '') return [];
      if (typeof value === 'string' && value.includes('\n')) {
        return value
          .replace(/\n$/, '')
          .split('\n')
          .map((l) => (l === '' ? '' : block[1] + l))
          .join('\n');
      }
    }
    return lineText.replace(TOKEN, (_match, name: string) => {
      const value = inline(lookup(name, line));
      if (value.includes('\n')) {
        throw new TemplateError(`${fileName}:${line}: {{ ${name} }} has several lines; put it alone on its line`);
      }
      return value;
    });
  });
  const result = filled.join('\n');
  assertNoPlaceholder(result, fileName);
  return result;
}

/** Fails on any `{{` or `}}` left in rendered text, naming the file and line. */
export function assertNoPlaceholder(text: string, fileName: string): void {
  const lines = text.split('\n');
  const index = lines.findIndex((l) => l.includes('{{') || l.includes('}}'));
  if (index >= 0) {
    throw new TemplateError(`${fileName}:${index + 1}: placeholder left after rendering: ${lines[index].trim()}`);
  }
}
