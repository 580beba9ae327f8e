import { SendCommandCommand, SendCommandCommandInput, SSMClient } from '@aws-sdk/client-ssm';

/** What happened to one SendCommand request (one chunk of at most 50 nodes). */
export type CommandOutcome =
  | { readonly instanceIds: string[]; readonly commandId: string }
  | { readonly instanceIds: string[]; readonly error: string; readonly errorName: string };

/**
 * SSM refused the chunk because one of its nodes cannot take commands (no longer registered, or shutting
 * down): the whole call fails, the healthy nodes of the chunk included.
 */
export function isRefusedForInstanceIds(outcome: CommandOutcome): boolean {
  return 'errorName' in outcome && outcome.errorName === 'InvalidInstanceId';
}

/**
 * Sends each chunk's command. The SDK client's retry strategy already backs off on throttling; a chunk
 * that still fails is reported, not thrown, so the other chunks go out and the caller decides.
 */
export async function sendSyncCommands(
  ssm: SSMClient,
  inputs: readonly SendCommandCommandInput[],
): Promise<CommandOutcome[]> {
  return Promise.all(
    inputs.map(async (input): Promise<CommandOutcome> => {
      const instanceIds = [...(input.InstanceIds ?? [])];
      try {
        const out = await ssm.send(new SendCommandCommand(input));
        return { instanceIds, commandId: out.Command?.CommandId ?? 'unknown' };
      } catch (error) {
        const e = error as Error;
        return { instanceIds, error: `${e.name}: ${e.message}`, errorName: e.name };
      }
    }),
  );
}
