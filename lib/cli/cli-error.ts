/**
 * An error the user can act on: comfyctl prints its message (no stack trace) and exits with its code.
 * Messages name the input that failed and what to do next.
 */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = 'CliError';
  }
}

/** Exit codes, so scripts can tell a bad invocation from a failed render. */
export const EXIT = {
  failure: 1,
  usage: 2,
  unreachable: 3,
  unauthorized: 4,
  validation: 5,
  execution: 6,
  timeout: 7,
  /** `comfyctl verify`: at least one acceptance check FAILed (the node answered, but is not right). */
  checksFailed: 8,
} as const;
