import type { EC2Client } from '@aws-sdk/client-ec2';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { CommandOutcome, sendSyncCommands } from './command-sender';
import type { ModelSyncConfig } from './config';
import { findSyncTargets } from './node-finder';
import { buildSyncCommands } from './planner';

export interface FanOutClients {
  readonly ec2: EC2Client;
  readonly ssm: SSMClient;
}

export interface FanOutResult {
  readonly nodes: number;
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

/**
 * Tells every running GPU node of the cluster to sync the changed keys: one DescribeInstances walk, then
 * one SendCommand per 50 nodes. No nodes is normal (scaled to zero): nodes sync when they boot.
 */
export async function fanOutSync(
  clients: FanOutClients,
  config: ModelSyncConfig,
  keys: readonly string[],
): Promise<FanOutResult> {
  const instanceIds = await findSyncTargets(clients.ec2, config);
  if (instanceIds.length === 0) return { nodes: 0, commands: [] };
  const commands = await sendSyncCommands(clients.ssm, buildSyncCommands(config, instanceIds, keys));
  const result = { nodes: instanceIds.length, commands };
  if (commands.some((c) => 'error' in c)) throw new FanOutError(result);
  return result;
}
