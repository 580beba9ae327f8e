import { InstanceInformation, paginateDescribeInstanceInformation, SSMClient } from '@aws-sdk/client-ssm';
import type { SyncTarget } from './node-finder';

/**
 * DescribeInstanceInformation returns at most 50 nodes per page
 * (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DescribeInstanceInformation.html).
 */
export const DESCRIBE_PAGE_SIZE = 50;

/**
 * How long after launch a node SSM does not know yet counts as booting. The SSM agent of the EKS AL2023 AMI
 * registers within a minute or two of boot; past this the node's agent is taken as broken, not late. Shorter
 * than the sync queue's visibility timeout (12 minutes), so a batch retried for a booting node is retried once.
 */
export const BOOT_GRACE_MS = 10 * 60 * 1000;

/** The cluster's running nodes, by what SSM can do with them now. Every list is sorted. */
export interface NodeReadiness {
  /** SSM reports them Online: SendCommand reaches them. */
  readonly online: string[];
  /**
   * SSM does not know them and they launched less than BOOT_GRACE_MS ago: the agent has not registered yet
   * (SendCommand would refuse their whole chunk with InvalidInstanceId). Their boot-time sync may have listed the
   * bucket before this change, so the batch is retried for them.
   */
  readonly booting: string[];
  /**
   * SSM knows them but they are not Online (ConnectionLost, Inactive), or it never heard from them although they
   * launched long ago: no command reaches them, and their models stay as they are until they are replaced.
   */
  readonly unreachable: string[];
}

/**
 * Sorts the running nodes by the PingStatus SSM reported for them; `reported` may hold any managed node of the
 * account (the ones that are not targets are ignored).
 */
export function classifyNodes(
  targets: readonly SyncTarget[],
  reported: readonly InstanceInformation[],
  now: Date,
): NodeReadiness {
  const status = new Map(reported.map((i) => [i.InstanceId, i.PingStatus]));
  const online: string[] = [];
  const booting: string[] = [];
  const unreachable: string[] = [];
  for (const target of new Map(targets.map((t) => [t.instanceId, t])).values()) {
    const ping = status.get(target.instanceId);
    if (ping === 'Online') online.push(target.instanceId);
    else if (ping === undefined && isBooting(target, now)) booting.push(target.instanceId);
    else unreachable.push(target.instanceId);
  }
  return { online: online.sort(), booting: booting.sort(), unreachable: unreachable.sort() };
}

function isBooting(target: SyncTarget, now: Date): boolean {
  return target.launchTime !== undefined && now.getTime() - target.launchTime.getTime() < BOOT_GRACE_MS;
}

/**
 * Every EC2 instance SSM manages in the account and region, with its PingStatus: one paginated
 * DescribeInstanceInformation filtered by resource type. Not filtered by instance id: the API reference says an
 * id it does not know (a node whose agent has not registered yet, exactly the case to handle) "gives an error".
 */
export async function describeManagedNodes(ssm: SSMClient): Promise<InstanceInformation[]> {
  const reported: InstanceInformation[] = [];
  const pages = paginateDescribeInstanceInformation(
    { client: ssm, pageSize: DESCRIBE_PAGE_SIZE },
    { Filters: [{ Key: 'ResourceType', Values: ['EC2Instance'] }] },
  );
  for await (const page of pages) reported.push(...(page.InstanceInformationList ?? []));
  return reported;
}

/** The running nodes by readiness, as SSM sees them now. */
export async function findNodeReadiness(ssm: SSMClient, targets: readonly SyncTarget[], now = new Date()): Promise<NodeReadiness> {
  if (targets.length === 0) return { online: [], booting: [], unreachable: [] };
  return classifyNodes(targets, await describeManagedNodes(ssm), now);
}
