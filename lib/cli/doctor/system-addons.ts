import { COMFYUI_NAMESPACE } from '../../names';

/** Where a DaemonSet must have a ready pod. */
export type AddonPlacement = 'every-node' | 'gpu-nodes';

export interface SystemAddon {
  /** What an operator calls it. */
  readonly title: string;
  readonly kind: 'DaemonSet' | 'Deployment';
  readonly namespace: string;
  /** The object's name, as the chart or manifest installs it. */
  readonly name: string;
  /** DaemonSets only: the nodes it must run on. */
  readonly placement?: AddonPlacement;
  /** Where to look when it is not healthy. */
  readonly logsHint: string;
}

const KUBE_SYSTEM = 'kube-system';
const logsOf = (kind: string, name: string, namespace = KUBE_SYSTEM) =>
  `kubectl -n ${namespace} describe ${kind.toLowerCase()} ${name}; kubectl -n ${namespace} logs ${kind.toLowerCase()}/${name}`;

/**
 * The system add-ons lib/stacks/cluster-stack.ts installs (and the model gate of manifests/base), by the names
 * their charts give them: the VPC CNI add-on's `aws-node`; the Load Balancer Controller and Karpenter charts
 * installed by eks-blueprints with release names equal to the chart (so the Deployment is named after it); the
 * Mountpoint S3 CSI driver v2 chart's fixed `s3-csi-node` and `s3-csi-controller` (eks-blueprints sets
 * `node.tolerateAllTaints`, so it runs on GPU nodes too); lib/addons/nvidia-device-plugin.ts's release.
 */
export const SYSTEM_ADDONS: readonly SystemAddon[] = [
  { title: 'VPC CNI', kind: 'DaemonSet', namespace: KUBE_SYSTEM, name: 'aws-node', placement: 'every-node', logsHint: `kubectl -n ${KUBE_SYSTEM} get sa aws-node -o yaml (its IRSA role annotation); ${logsOf('DaemonSet', 'aws-node')}` },
  { title: 'Load Balancer Controller', kind: 'Deployment', namespace: KUBE_SYSTEM, name: 'aws-load-balancer-controller', logsHint: logsOf('Deployment', 'aws-load-balancer-controller') },
  { title: 'Karpenter', kind: 'Deployment', namespace: KUBE_SYSTEM, name: 'karpenter', logsHint: logsOf('Deployment', 'karpenter') },
  { title: 'NVIDIA device plugin', kind: 'DaemonSet', namespace: KUBE_SYSTEM, name: 'nvidia-device-plugin', placement: 'gpu-nodes', logsHint: logsOf('DaemonSet', 'nvidia-device-plugin') },
  { title: 'Mountpoint S3 CSI node', kind: 'DaemonSet', namespace: KUBE_SYSTEM, name: 's3-csi-node', placement: 'every-node', logsHint: logsOf('DaemonSet', 's3-csi-node') },
  { title: 'Mountpoint S3 CSI controller', kind: 'Deployment', namespace: KUBE_SYSTEM, name: 's3-csi-controller', logsHint: logsOf('Deployment', 's3-csi-controller') },
  { title: 'model gate', kind: 'DaemonSet', namespace: COMFYUI_NAMESPACE, name: 'model-gate', placement: 'gpu-nodes', logsHint: logsOf('DaemonSet', 'model-gate', COMFYUI_NAMESPACE) },
];
