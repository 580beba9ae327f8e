import { parseTemplateRef as parseRef } from '../../jobs/templates';
import { checkLikeTheApi } from '../jobs/local-check';

/** `portrait` (the latest version) or `portrait@3`. */
export interface TemplateRef {
  readonly name: string;
  readonly version?: number;
}

/** Reads `NAME[@VERSION]` with the API's own rules; the error names the option or argument it came from. */
export function parseTemplateRef(raw: string, source: string): TemplateRef {
  return checkLikeTheApi(() => parseRef(raw, source));
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
