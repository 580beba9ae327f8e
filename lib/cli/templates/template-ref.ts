import { CliError, EXIT } from '../cli-error';

/** `portrait` (the latest version) or `portrait@3`. */
export interface TemplateRef {
  readonly name: string;
  readonly version?: number;
}

/** Reads `NAME[@VERSION]`; the error names the option or argument it came from. */
export function parseTemplateRef(raw: string, source: string): TemplateRef {
  const at = raw.lastIndexOf('@');
  const name = at < 0 ? raw : raw.slice(0, at);
  if (name === '') throw new CliError(`${source} ${JSON.stringify(raw)}: expected NAME or NAME@VERSION, e.g. portrait@3`, EXIT.usage);
  if (at < 0) return { name };
  const version = raw.slice(at + 1);
  if (!/^[1-9]\d{0,8}$/.test(version)) {
    throw new CliError(`${source} ${JSON.stringify(raw)}: the version after @ must be a number from 1, e.g. ${name}@3`, EXIT.usage);
  }
  return { name, version: Number(version) };
}

/** How the API spells a reference, in a submit body and in `templates/{name}[@version]`. */
export function formatTemplateRef(ref: TemplateRef): string {
  return ref.version === undefined ? ref.name : `${ref.name}@${ref.version}`;
}

/** The API path of one template, or of one version of it ('@' needs no escaping in a path segment). */
export function templatePath(ref: TemplateRef): string {
  const name = `templates/${encodeURIComponent(ref.name)}`;
  return ref.version === undefined ? name : `${name}@${ref.version}`;
}
