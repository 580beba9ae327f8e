/**
 * Every version pin of the cluster's add-ons, in one place. Versions left at `auto` would make synth call
 * the EKS API, so all of them are explicit. Upgrade on purpose: bump here, synth, read the diff.
 *
 * EKS managed add-on versions are the ones eks-blueprints 1.19.0 maps to each Kubernetes version
 * (see its `addons/<name>/index.js` version maps); a Kubernetes version missing here fails config validation.
 */
export const SUPPORTED_KUBERNETES_VERSIONS = ['1.33', '1.34', '1.35'] as const;
export type KubernetesVersionString = (typeof SUPPORTED_KUBERNETES_VERSIONS)[number];

/** Default Kubernetes version of the cluster (the newest eks-blueprints 1.19.0 supports). */
export const DEFAULT_KUBERNETES_VERSION: KubernetesVersionString = '1.35';

interface ManagedAddOnVersions {
  vpcCni: string;
  podIdentityAgent: string;
  coreDns: string;
  kubeProxy: string;
  /**
   * amazon-cloudwatch-observability (config `operations`): eks-blueprints 1.19.0's map
   * (dist/addons/cloud-watch-insights/index.js). v5.3.1 is chart 5.3.1 (aws-observability/helm-charts RELEASE_NOTES);
   * every pin here is v3.1.0 or later, which EKS Pod Identity needs.
   */
  cloudwatchObservability: string;
}

/** EKS managed add-ons, per Kubernetes version. */
export const MANAGED_ADDON_VERSIONS: Record<KubernetesVersionString, ManagedAddOnVersions> = {
  '1.33': {
    vpcCni: 'v1.20.4-eksbuild.2',
    podIdentityAgent: 'v1.3.10-eksbuild.2',
    coreDns: 'v1.12.1-eksbuild.2',
    kubeProxy: 'v1.33.3-eksbuild.4',
    cloudwatchObservability: 'v4.10.1-eksbuild.1',
  },
  '1.34': {
    vpcCni: 'v1.20.4-eksbuild.2',
    podIdentityAgent: 'v1.3.10-eksbuild.2',
    coreDns: 'v1.12.3-eksbuild.1',
    kubeProxy: 'v1.34.0-eksbuild.2',
    cloudwatchObservability: 'v4.10.1-eksbuild.1',
  },
  '1.35': {
    vpcCni: 'v1.21.1-eksbuild.1',
    podIdentityAgent: 'v1.3.10-eksbuild.2',
    coreDns: 'v1.13.2-eksbuild.3',
    kubeProxy: 'v1.35.0-eksbuild.2',
    cloudwatchObservability: 'v5.3.1-eksbuild.1',
  },
};

/** Helm charts installed by the cluster stack. */
export const HELM_CHART_VERSIONS = {
  /** https://github.com/aws/karpenter-provider-aws/releases (v1 API). */
  karpenter: '1.13.0',
  /** https://github.com/aws/eks-charts/tree/master/stable/aws-load-balancer-controller */
  awsLoadBalancerController: '3.4.0',
  /** https://github.com/awslabs/mountpoint-s3-csi-driver (v2: Mountpoint runs in its own pods). */
  mountpointS3CsiDriver: '2.7.0',
  /** https://github.com/NVIDIA/k8s-device-plugin (the AL2023 NVIDIA AMI carries the driver). */
  nvidiaDevicePlugin: '0.20.0',
  /**
   * https://github.com/kedacore/charts (chart and app versions match). 2.20 is tested on Kubernetes 1.33-1.35
   * (https://keda.sh/docs/2.20/operate/cluster/); its CRDs come from the same release (tools/manifest-tools.txt).
   */
  keda: '2.20.2',
} as const;

/**
 * EKS AL2023 AMI release the GPU EC2NodeClass pins; Karpenter picks that release's NVIDIA variant for GPU
 * instance types. Releases: https://github.com/awslabs/amazon-eks-ami/releases
 */
export const GPU_NODE_AMI_ALIAS = 'al2023@v20261023';

/**
 * The CloudWatch agent image of the ComfyUI metrics scraper (lib/constructs/comfyui-metrics-scraper.ts): the agent
 * the amazon-cloudwatch-observability chart 5.2.2 ships (its values.yaml agent.image.tag), the nearest release to
 * the v5.3.1 add-on pinned above. https://gallery.ecr.aws/cloudwatch-agent/cloudwatch-agent
 */
export const CLOUDWATCH_AGENT_IMAGE = 'public.ecr.aws/cloudwatch-agent/cloudwatch-agent:1.300064.1b1344';

/** Tag of the ComfyUI image in the ECR repository that the manifests run (`npm run render -- --image-tag`). */
export const COMFYUI_IMAGE_TAG = '0.1.0';
