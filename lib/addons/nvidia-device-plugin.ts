import * as blueprints from '@aws-quickstart/eks-blueprints';
import { Construct } from 'constructs';
import { HELM_CHART_VERSIONS } from '../versions';

/** Props of the NVIDIA device plugin add-on; every field defaults as documented. */
export interface NvidiaDevicePluginAddOnProps extends blueprints.HelmAddOnUserProps {
  /**
   * Node label and values that mark NVIDIA GPU nodes. The chart's own default affinity wants Node Feature
   * Discovery labels, which no node here has, so the plugin would never start; Karpenter's well-known
   * label is always set (https://karpenter.sh/docs/reference/instance-types/).
   * @default karpenter.k8s.aws/instance-gpu-manufacturer In [nvidia]
   */
  readonly gpuNodeSelector?: { key: string; values: string[] };
}

const defaults: blueprints.HelmAddOnProps & NvidiaDevicePluginAddOnProps = {
  name: 'nvidia-device-plugin',
  chart: 'nvidia-device-plugin',
  namespace: 'kube-system',
  release: 'nvidia-device-plugin',
  repository: 'https://nvidia.github.io/k8s-device-plugin',
  version: HELM_CHART_VERSIONS.nvidiaDevicePlugin,
  gpuNodeSelector: { key: 'karpenter.k8s.aws/instance-gpu-manufacturer', values: ['nvidia'] },
};

/**
 * Advertises `nvidia.com/gpu` on GPU nodes. Installs no driver: the EKS AL2023 NVIDIA AMI carries it.
 * eks-blueprints has no add-on for the plain device plugin (its GpuOperatorAddon installs drivers too).
 */
export class NvidiaDevicePluginAddOn extends blueprints.HelmAddOn {
  private readonly options: NvidiaDevicePluginAddOnProps;

  constructor(props: NvidiaDevicePluginAddOnProps = {}) {
    super({ ...defaults, ...props });
    this.options = { ...defaults, ...props };
  }

  deploy(clusterInfo: blueprints.ClusterInfo): Promise<Construct> {
    const selector = this.options.gpuNodeSelector!;
    const values = {
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: selector.key, operator: 'In', values: selector.values }] }],
          },
        },
      },
      // GPU nodes carry the GPU taint and, until their first model sync, a startup taint: the plugin must
      // run through both or no GPU is ever advertised.
      tolerations: [{ operator: 'Exists', effect: 'NoSchedule' }],
      priorityClassName: 'system-node-critical',
      ...this.options.values,
    };
    return Promise.resolve(this.addHelmChart(clusterInfo, values));
  }
}
