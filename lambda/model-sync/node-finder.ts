import { EC2Client, Filter, paginateDescribeInstances } from '@aws-sdk/client-ec2';

export interface NodeSelector {
  readonly clusterName: string;
  readonly nodePools: readonly string[];
}

/**
 * Filters on the tags Karpenter v1 puts on every instance it launches
 * (https://karpenter.sh/docs/concepts/nodeclasses/#spectags): its node pool, the cluster name and the
 * cluster ownership tag. Only running instances can take a command; pending ones sync at boot.
 */
export function nodeFilters({ clusterName, nodePools }: NodeSelector): Filter[] {
  return [
    { Name: 'tag:karpenter.sh/nodepool', Values: [...nodePools] },
    { Name: 'tag:eks:eks-cluster-name', Values: [clusterName] },
    { Name: 'tag-key', Values: [`kubernetes.io/cluster/${clusterName}`] },
    { Name: 'instance-state-name', Values: ['running'] },
  ];
}

/** A running GPU node, and when it launched (how long SSM may take to know it depends on that). */
export interface SyncTarget {
  readonly instanceId: string;
  readonly launchTime?: Date;
}

/** Every running GPU node of the cluster's node pools, across all DescribeInstances pages, by instance id. */
export async function findSyncTargets(ec2: EC2Client, selector: NodeSelector): Promise<SyncTarget[]> {
  const targets: SyncTarget[] = [];
  const pages = paginateDescribeInstances({ client: ec2, pageSize: 500 }, { Filters: nodeFilters(selector) });
  for await (const page of pages) {
    for (const reservation of page.Reservations ?? []) {
      for (const instance of reservation.Instances ?? []) {
        if (instance.InstanceId) targets.push({ instanceId: instance.InstanceId, launchTime: instance.LaunchTime });
      }
    }
  }
  return targets.sort((a, b) => a.instanceId.localeCompare(b.instanceId));
}
