import { GPU_NODE_POOLS, GPU_TAINT_KEY } from '../../names';
import { KubeNode } from './kube-objects';

/** Karpenter labels each node with the NodePool that launched it (https://karpenter.sh/docs/reference/well-known-labels/). */
const NODE_POOL_LABEL = 'karpenter.sh/nodepool';

/** A node of our GPU NodePools: launched by one, or carrying the GPU taint they set. */
export function isGpuNode(node: KubeNode): boolean {
  const pool = node.metadata.labels?.[NODE_POOL_LABEL];
  return (pool !== undefined && (GPU_NODE_POOLS as readonly string[]).includes(pool))
    || (node.spec?.taints ?? []).some((t) => t.key === GPU_TAINT_KEY);
}

/** The EC2 instance id in an EKS node's providerID (`aws:///us-west-2a/i-0abc...`), which SSM reports by. */
export function instanceIdOf(node: KubeNode): string | undefined {
  return /\/(i-[0-9a-f]+)$/.exec(node.spec?.providerID ?? '')?.[1];
}

/** `i-0abc (ip-10-0-1-2...)` when the instance id is known, else the node name. */
export function nodeLabel(node: KubeNode): string {
  const id = instanceIdOf(node);
  return id ? `${node.metadata.name} (${id})` : node.metadata.name;
}
