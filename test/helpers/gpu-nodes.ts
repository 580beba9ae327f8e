import { DescribeImagesCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';

/** The tags Karpenter v1 puts on a node it launches for `pool` in `cluster`. */
export function karpenterTags(cluster: string, pool: string): Record<string, string> {
  return { 'karpenter.sh/nodepool': pool, 'eks:eks-cluster-name': cluster, [`kubernetes.io/cluster/${cluster}`]: 'owned' };
}

/** Launches `count` tagged GPU instances in the emulator; returns their ids. */
export async function launchInstances(ec2: EC2Client, count: number, tags: Record<string, string>): Promise<string[]> {
  const images = await ec2.send(new DescribeImagesCommand({}));
  const out = await ec2.send(new RunInstancesCommand({
    ImageId: images.Images![0].ImageId!,
    InstanceType: 'g5.xlarge',
    MinCount: count,
    MaxCount: count,
    TagSpecifications: [{ ResourceType: 'instance', Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }],
  }));
  return out.Instances!.map((i) => i.InstanceId!);
}
