import { existsSync, readFileSync } from 'node:fs';
import { OUTPUT_KEYS, STACK_NAMES } from '../names';
import { CliError, EXIT } from './cli-error';

/** The file `npx cdk deploy --all --outputs-file cdk-outputs.json` writes; comfyctl reads defaults from it. */
export const DEFAULT_OUTPUTS_FILE = 'cdk-outputs.json';

type StackName = (typeof STACK_NAMES)[keyof typeof STACK_NAMES];
type OutputName = (typeof OUTPUT_KEYS)[keyof typeof OUTPUT_KEYS];

/**
 * One stack output from a `cdk deploy --outputs-file` document, or a CliError that names the option that
 * would replace it (`--bucket`, `--url`, ...) and how to produce the file.
 */
export function deployOutput(file: string, stack: StackName, output: OutputName, replacedBy: string): string {
  if (!existsSync(file)) {
    throw new CliError(
      `${file} not found: pass ${replacedBy}, or deploy with 'npx cdk deploy --all --outputs-file ${file}'`,
      EXIT.usage,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new CliError(`${file} is not JSON (${(error as Error).message}): pass ${replacedBy} instead`, EXIT.usage);
  }
  const value = (parsed as Record<string, Record<string, unknown> | undefined> | null)?.[stack]?.[output];
  if (typeof value !== 'string' || value === '') {
    throw new CliError(
      `${file} has no ${stack}.${output}: deploy the ${stack} stack with --outputs-file ${file}, or pass ${replacedBy}`,
      EXIT.usage,
    );
  }
  return value;
}

/** Like deployOutput, but undefined when the file or the value is absent (for optional defaults). */
export function optionalDeployOutput(file: string, stack: StackName, output: OutputName): string | undefined {
  try {
    return deployOutput(file, stack, output, '');
  } catch {
    return undefined;
  }
}
