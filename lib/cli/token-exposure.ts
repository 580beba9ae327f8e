import { Command } from 'commander';

/**
 * Warnings about where a secret token can be seen. They go to stderr even with `--quiet`: `--quiet` hides
 * progress and status of a run that goes as asked, whereas these say a credential is exposed, which the
 * user may not know; stdout stays clean for scripts either way. The way to silence one is to remove its
 * cause (use the environment variable; use https or a loopback URL), not a flag.
 */

/** The line printed when `--<flag>` carried a token on the command line instead of `envName`. */
export function commandLineTokenWarning(flag: string, envName: string): string {
  return `comfyctl: warning: --${flag} on the command line is visible to other users in 'ps' and stays in shell history; set ${envName} instead`;
}

/** Whether `hostname` (as URL.hostname spells it) is this machine: 127.0.0.0/8, ::1 or localhost. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
  if (host === 'localhost' || host.endsWith('.localhost') || host === '::1') return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** The line to print when a Bearer token would go to `url` in clear text (http:// to another machine); else undefined. */
export function cleartextTokenWarning(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined; // the command reports the malformed URL itself
  }
  if (parsed.protocol !== 'http:' || isLoopbackHost(parsed.hostname)) return undefined;
  return `comfyctl: warning: the token goes to ${parsed.origin} over plain http, readable by anyone on the network path; use an https URL (CloudFront) or a port-forward to 127.0.0.1`;
}

/** Whether option `attribute` of `command` was given on the command line (not from the environment or a default). */
export function givenOnCommandLine(command: Command, attribute: string): boolean {
  return command.getOptionValueSource(attribute) === 'cli' && Boolean(command.getOptionValue(attribute));
}

/**
 * Before the action runs, warns once on stderr when the token option `flag` came from the command line.
 * `attribute` is commander's camelCase name of the option (hfToken for --hf-token).
 */
export function warnOnCommandLineToken(command: Command, flag: string, attribute: string, envName: string): Command {
  return command.hook('preAction', (hooked) => {
    if (givenOnCommandLine(hooked, attribute)) process.stderr.write(`${commandLineTokenWarning(flag, envName)}\n`);
  });
}
