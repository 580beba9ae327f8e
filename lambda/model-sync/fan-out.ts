import type { EC2Client } from '@aws-sdk/client-ec2';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { CommandOutcome, isRefusedForInstanceIds, sendSyncCommands } from './command-sender';
import type { ModelSyncConfig } from './config';
import { findSyncTargets } from './node-finder';
import { findNodeReadiness, NodeReadiness } from './online-nodes';
import { buildSyncCommands } from './planner';

export interface FanOutClients {
  readonly ec2: EC2Client;
  readonly ssm: SSMClient;
}

export interface FanOutResult {
  /** Nodes the sync command went to. */
  readonly nodes: number;
  /** Running nodes SSM does not know yet, launched minutes ago: they get these keys when the batch is retried. */
  readonly booting: string[];
  /** Running nodes SSM cannot reach (ConnectionLost, Inactive, or never registered): no command reaches them. */
  readonly unreachable: string[];
  readonly commands: CommandOutcome[];
}

/** Failed chunks after the SDK's retries (or a refused resend) */
const failedCommands = (result: FanOutResult) => result.commands.filter((c) => 'error' in c);

/**
 * The batch must be retried by SQS: a chunk could not be sent, or a node is still booting and its boot-time sync
 * may have listed the bucket before these keys changed. Nodes SSM cannot reach are not retried for: they would
 * only send the batch to the dead-letter queue.
 */
export class FanOutError extends Error {
  constructor(readonly result: FanOutResult) {
    const failed = failedCommands(result);
    const reasons = [
      ...(failed.length > 0
        ? [`${failed.length} of ${result.commands.length} sync commands failed (${failed.map((c) => ('error' in c ? c.error : '')).join('; ')})`]
        : []),
      ...(result.booting.length > 0
        ? [`${result.booting.length} nodes still booting, not yet registered with SSM (${result.booting.join(', ')})`]
        : []),
    ];
    super(reasons.join('; '));
    this.name = 'FanOutError';
  }

  /** Only booting nodes, every command sent: an expected retry, not a failure. */
  get onlyBooting(): boolean {
    return failedCommands(this.result).length === 0;
  }
}

function fanOutResult(commands: CommandOutcome[], readiness: NodeReadiness): FanOutResult {
  return {
    nodes: commands.filter((c) => !('error' in c)).flatMap((c) => c.instanceIds).length,
    booting: readiness.booting,
    unreachable: readiness.unreachable,
    commands,
  };
}

/**
 * Tells every GPU node of the cluster that SSM reports Online to sync the changed keys: one DescribeInstances
 * walk, one look at SSM's managed nodes, then one SendCommand per 50 nodes. A node running but not yet
 * registered with SSM (its first minutes of boot) gets nothing, since SendCommand would refuse its whole chunk;
 * the batch is then retried once the queue's visibility timeout passes, when it is Online. No nodes is normal
 * (scaled to zero): nodes sync when they boot.
 *
 * A node can still drop out between the look and SendCommand, which then refuses its chunk with
 * InvalidInstanceId; those chunks are looked at again and sent once more to their nodes still Online.
 */
export async function fanOutSync(
  clients: FanOutClients,
  config: ModelSyncConfig,
  keys: readonly string[],
): Promise<FanOutResult> {
  const send = async (instanceIds: readonly string[]): Promise<CommandOutcome[]> =>
    (instanceIds.length === 0 ? [] : sendSyncCommands(clients.ssm, buildSyncCommands(config, instanceIds, keys)));

  const targets = await findSyncTargets(clients.ec2, config);
  const readiness = await findNodeReadiness(clients.ssm, targets);
  const sent = await send(readiness.online);
  const refused = sent.filter(isRefusedForInstanceIds);
  let result = fanOutResult(sent, readiness);
  if (refused.length > 0) {
    const refusedIds = new Set(refused.flatMap((c) => c.instanceIds));
    const recheck = await findNodeReadiness(clients.ssm, targets.filter((t) => refusedIds.has(t.instanceId)));
    const resent = await send(recheck.online);
    // Online a moment ago, refused now: shutting down or deregistered, not booting, so not worth a retry.
    result = fanOutResult([...sent.filter((c) => !isRefusedForInstanceIds(c)), ...resent], {
      online: [],
      booting: readiness.booting,
      unreachable: [...readiness.unreachable, ...recheck.booting, ...recheck.unreachable].sort(),
    });
  }
  if (failedCommands(result).length > 0 || result.booting.length > 0) throw new FanOutError(result);
  return result;
}
