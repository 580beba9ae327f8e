import { Command, CommanderError } from 'commander';
import { registerBenchCommand } from './bench-command';
import { CliError, EXIT } from './cli-error';
import { registerDoctorCommand } from './doctor/doctor-command';
import { registerInvokeCommand } from './invoke-command';
import { registerJobsCommands } from './jobs/jobs-command';
import { registerModelsCommands } from './models/models-command';
import { registerTemplatesCommands } from './templates/templates-command';
import { registerUsersCommands } from './users/users-command';
import { registerVerifyCommand } from './verify/verify-command';

/** The comfyctl command tree. Each command lives in its own module and registers itself here. */
export function buildProgram(): Command {
  const program = new Command('comfyctl')
    .description('Run ComfyUI workflows on the EKS deployment (directly or as durable jobs), manage its models, users and templates, benchmark and verify it')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  registerInvokeCommand(program);
  registerModelsCommands(program);
  registerBenchCommand(program);
  registerVerifyCommand(program);
  registerDoctorCommand(program);
  registerUsersCommands(program);
  registerJobsCommands(program);
  registerTemplatesCommands(program);
  return program;
}

/** Runs comfyctl with process-style argv and returns the exit code; errors are printed, never thrown. */
export async function runComfyctl(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv]);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander already printed the usage problem (or the help/version text, with exit code 0).
      return error.exitCode === 1 ? EXIT.usage : error.exitCode;
    }
    if (error instanceof CliError) {
      process.stderr.write(`comfyctl: ${error.message}\n`);
      return error.exitCode;
    }
    const err = error as Error;
    process.stderr.write(`comfyctl: unexpected error: ${err?.message ?? String(error)}\n`);
    if (process.env.COMFYCTL_DEBUG) process.stderr.write(`${err?.stack ?? ''}\n`);
    else process.stderr.write('comfyctl: rerun with COMFYCTL_DEBUG=1 to see the stack trace\n');
    return EXIT.failure;
  }
}
