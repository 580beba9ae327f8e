import type { EC2Client } from '@aws-sdk/client-ec2';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { CommandOutcome, isRefusedForInstanceIds, sendSyncCommands } from './command-sender';
import type { ModelSyncConfig } from './config';
import { findSyncTargets } from './node-finder';
import { findOnlineNodes } from './online-nodes';
import { buildSyncCommands } from './planner';

export interface FanOutClients {
  readonly ec2: EC2Client;
  readonly ssm: SSMClient;
}

export interface FanOutResult {
  /** Nodes the sync command went to. */
  readonly nodes: number;
  /** Running nodes that got no command because SSM does not report them Online; booting ones sync at boot. */
  readonly notOnline: string[];
  readonly commands: CommandOutcome[];
}

/** Some chunks could not be sent even after the SDK's retries; the batch's records are retried by SQS. */
export class FanOutError extends Error {
  constructor(readonly result: FanOutResult) {
    const failed = result.commands.filter((c) => 'error' in c);
    super(
      `${failed.length} of ${result.commands.length} sync commands failed`
        + ` (${failed.map((c) => ('error' in c ? c.error : '')).join('; ')})`,
    );
    this.name = 'FanOutError';
  }
}

function fanOutResult(commands: CommandOutcome[], notOnline: readonly string[]): FanOutResult {
  return { nodes: commands.flatMap((c) => c.instanceIds).length, notOnline: [...notOnline].sort(), commands };
}

/**
 * Tells every GPU node of the cluster that SSM reports Online to sync the changed keys: one DescribeInstances
 * walk, one DescribeInstanceInformation check, then one SendCommand per 50 nodes. A node running but not yet
 * registered with SSM (its first minutes of boot) gets nothing, since SendCommand would refuse its whole chunk:
 * it syncs at boot. No nodes is normal (scaled to zero).
 *
 * A node can still drop out between the check and SendCommand, which then refuses its chunk with
 * InvalidInstanceId; those chunks are checked again and sent once more to their nodes still Online.
 */
export async function fanOutSync(
  clients: FanOutClients,
  config: ModelSyncConfig,
  keys: readonly string[],
): Promise<FanOutResult> {
  const send = async (instanceIds: readonly string[]): Promise<CommandOutcome[]> =>
    (instanceIds.length === 0 ? [] : sendSyncCommands(clients.ssm, buildSyncCommands(config, instanceIds, keys)));

  const { online, notOnline } = await findOnlineNodes(clients.ssm, await findSyncTargets(clients.ec2, config));
  const sent = await send(online);
  const refused = sent.filter(isRefusedForInstanceIds);
  let result = fanOutResult(sent, notOnline);
  if (refused.length > 0) {
    const recheck = await findOnlineNodes(clients.ssm, refused.flatMap((c) => c.instanceIds));
    const resent = await send(recheck.online);
    result = fanOutResult(
      [...sent.filter((c) => !isRefusedForInstanceIds(c)), ...resent],
      [...notOnline, ...recheck.notOnline],
    );
  }
  if (result.commands.some((c) => 'error' in c)) throw new FanOutError(result);
  return result;
}
