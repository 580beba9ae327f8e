import * as blueprints from '@aws-quickstart/eks-blueprints';
import { CfnOutput, Duration, Stack, StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as eks from 'aws-cdk-lib/aws-eks';
import { Construct } from 'constructs';
import { CloudWatchObservabilityAddOn } from '../addons/cloudwatch-observability';
import { NvidiaDevicePluginAddOn } from '../addons/nvidia-device-plugin';
import { vpcCniAddOn } from '../addons/vpc-cni';
import { AppConfig } from '../config';
import { AdminScopedClusterProvider } from '../constructs/admin-scoped-cluster-provider';
import { hardenBlueprintResources } from '../constructs/blueprint-hardening';
import { fixKarpenterInterruptionRules } from '../constructs/karpenter-interruption-rules';
import { installChartsAfterSystemNodes } from '../constructs/system-node-ordering';
import { grantClusterAdmin } from '../constructs/cluster-admin';
import { installKedaAfterAccess, KedaAccess } from '../constructs/keda-access';
import { clusterEndpointAccess, warnAboutClusterEndpoint } from '../constructs/cluster-endpoint';
import { ClusterVpcProvider } from '../constructs/cluster-vpc';
import { ComfyuiLoadBalancer } from '../constructs/comfyui-load-balancer';
import { restrictGpuNodeRole } from '../constructs/gpu-node-role';
import { restrictLoadBalancerControllerRole } from '../constructs/load-balancer-controller-role';
import { NodeSyncBundle } from '../constructs/node-sync-bundle';
import { PodOutputsAccess } from '../constructs/pod-outputs-access';
import { removeS3CsiDriverBucketAccess } from '../constructs/s3-csi-driver-role';
import { albSubnetsCidr } from '../alb-subnets';
import {
  jobsQueueName,
  KEDA_NAMESPACE,
  KEDA_OPERATOR_NAME,
  KEDA_OPERATOR_SERVICE_ACCOUNT,
  KUBERNETES_SERVICE_CIDR,
  modelSyncLogGroupName,
  OUTPUT_KEYS,
  SYSTEM_NODE_LABEL,
  wakeQueueName,
} from '../names';
import { HELM_CHART_VERSIONS, MANAGED_ADDON_VERSIONS } from '../versions';

export interface ClusterStackProps extends StackProps {
  readonly config: AppConfig;
  /** Stacks that own the buckets: deployed first, referenced by name so no export couples them. */
  readonly bucketStacks: Stack[];
}

/** What later stacks need from the cluster stack. */
export interface ClusterStack {
  /** The config the stack was built from: lib/nag.ts names its exact findings with it. */
  readonly config: AppConfig;
  readonly stack: blueprints.EksBlueprint;
  readonly vpc: ec2.IVpc;
  readonly cluster: eks.Cluster;
  readonly loadBalancer: ComfyuiLoadBalancer;
}

/**
 * `Comfyui-Cluster`: the VPC, the EKS cluster (eks-blueprints) with its add-ons, the Karpenter GPU node
 * role, and the internal ALB that serves ComfyUI. Async because eks-blueprints deploys add-ons async.
 */
export async function buildClusterStack(scope: Construct, id: string, props: ClusterStackProps): Promise<ClusterStack> {
  const { config } = props;
  const versions = MANAGED_ADDON_VERSIONS[config.kubernetesVersion];
  const kubernetesVersion = eks.KubernetesVersion.of(config.kubernetesVersion);
  const privateSubnets = { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };

  const stack = await blueprints.EksBlueprint.builder()
    .account(config.account)
    .region(config.region)
    .version(kubernetesVersion)
    .resourceProvider(
      blueprints.GlobalResources.Vpc,
      new ClusterVpcProvider({
        clusterName: config.clusterName,
        cidr: config.vpcCidr,
        maxAzs: config.maxAzs,
        natGateways: config.natGateways,
        dnsFirewall: config.dnsFirewall,
        dnsAllowedDomains: config.dnsAllowedDomains,
      }),
    )
    .clusterProvider(
      new AdminScopedClusterProvider({
        clusterName: config.clusterName,
        version: kubernetesVersion,
        endpointAccess: clusterEndpointAccess(config.clusterEndpointPublicCidrs),
        // Explicit, so NetworkPolicies can name the API server's service address (KUBERNETES_API_SERVICE_IP).
        serviceIpv4Cidr: KUBERNETES_SERVICE_CIDR,
        vpcSubnets: [privateSubnets],
        managedNodeGroups: [
          {
            id: 'system',
            instanceTypes: [new ec2.InstanceType(config.systemNodeInstanceType)],
            amiType: eks.NodegroupAmiType.AL2023_X86_64_STANDARD,
            minSize: config.systemNodeCount,
            desiredSize: config.systemNodeCount,
            maxSize: config.systemNodeCount + 1,
            nodeGroupSubnets: privateSubnets,
            labels: { [SYSTEM_NODE_LABEL.key]: SYSTEM_NODE_LABEL.value },
          },
        ],
      }),
    )
    .enableControlPlaneLogTypes(
      blueprints.ControlPlaneLogType.API,
      blueprints.ControlPlaneLogType.AUDIT,
      blueprints.ControlPlaneLogType.AUTHENTICATOR,
      blueprints.ControlPlaneLogType.CONTROLLER_MANAGER,
      blueprints.ControlPlaneLogType.SCHEDULER,
    )
    .addOns(
      vpcCniAddOn(versions.vpcCni),
      new blueprints.CoreDnsAddOn(versions.coreDns),
      new blueprints.KubeProxyAddOn(versions.kubeProxy),
      new blueprints.EksPodIdentityAgentAddOn(versions.podIdentityAgent),
      new blueprints.AwsLoadBalancerControllerAddOn({ version: HELM_CHART_VERSIONS.awsLoadBalancerController }),
      new blueprints.KarpenterV1AddOn({ version: HELM_CHART_VERSIONS.karpenter, interruptionHandling: true }),
      // No bucket for the driver's own role: the outputs PV uses each pod's credentials (PodOutputsAccess).
      new blueprints.S3CSIDriverAddOn({ version: HELM_CHART_VERSIONS.mountpointS3CsiDriver, bucketNames: [] }),
      new NvidiaDevicePluginAddOn(),
      ...(config.operations ? [new CloudWatchObservabilityAddOn({ version: versions.cloudwatchObservability, clusterName: config.clusterName })] : []),
      ...kedaAddOns(config),
    )
    .buildAsync(scope, id, props);

  const clusterInfo = stack.getClusterInfo();
  const cluster = clusterInfo.cluster as eks.Cluster;
  const vpc = cluster.vpc;
  grantClusterAdmin(cluster, config.clusterAdminArn);
  warnAboutClusterEndpoint(cluster, config.clusterEndpointPublicCidrs);
  hardenBlueprintResources(stack, config.clusterName);
  fixKarpenterInterruptionRules(stack);
  installChartsAfterSystemNodes(cluster);
  const nodeRole = restrictGpuNodeRole(
    cluster,
    bucketArn(stack, config.modelsBucketName),
    modelSyncLogGroupName(config.clusterName),
  );
  const nodeSyncBundle = new NodeSyncBundle(stack, 'NodeSyncBundle', { nodeRole });
  for (const bucketStack of props.bucketStacks) stack.addDependency(bucketStack);

  const loadBalancer = new ComfyuiLoadBalancer(stack, 'ComfyuiLoadBalancer', {
    vpc,
    vpcCidr: config.vpcCidr,
    podSecurityGroup: cluster.clusterSecurityGroup,
    exposure: config.albExposure,
    allowedCidrs: config.albAllowedCidrs,
    idleTimeout: Duration.seconds(config.albIdleTimeoutSeconds),
    dataRemovalPolicy: config.dataRemovalPolicy,
  });
  restrictLoadBalancerControllerRole(cluster, loadBalancer.targetGroup.targetGroupArn);
  removeS3CsiDriverBucketAccess(cluster);
  new PodOutputsAccess(stack, 'PodOutputsAccess', { cluster, bucketName: config.outputsBucketName });
  if (config.autoscaling) {
    const kedaAccess = new KedaAccess(stack, 'KedaAccess', {
      cluster,
      queueNames: [jobsQueueName(config.clusterName), wakeQueueName(config.clusterName)],
    });
    installKedaAfterAccess(cluster, kedaAccess);
  }

  new CfnOutput(stack, OUTPUT_KEYS.clusterName, { value: cluster.clusterName });
  new CfnOutput(stack, OUTPUT_KEYS.region, { value: stack.region });
  new CfnOutput(stack, OUTPUT_KEYS.kubeconfigCommand, {
    value: `aws eks update-kubeconfig --name ${config.clusterName} --region ${config.region}`,
  });
  new CfnOutput(stack, OUTPUT_KEYS.karpenterNodeRoleName, { value: nodeRole.roleName });
  new CfnOutput(stack, OUTPUT_KEYS.karpenterInterruptionQueueName, { value: stack.stackName });
  new CfnOutput(stack, OUTPUT_KEYS.clusterSecurityGroupId, { value: cluster.clusterSecurityGroupId });
  new CfnOutput(stack, OUTPUT_KEYS.targetGroupArn, { value: loadBalancer.targetGroup.targetGroupArn });
  new CfnOutput(stack, OUTPUT_KEYS.albSecurityGroupId, { value: loadBalancer.securityGroup.securityGroupId });
  new CfnOutput(stack, OUTPUT_KEYS.albDnsName, { value: loadBalancer.loadBalancer.loadBalancerDnsName });
  new CfnOutput(stack, OUTPUT_KEYS.albSubnetsCidr, { value: albSubnetsCidr(config.vpcCidr) });
  new CfnOutput(stack, OUTPUT_KEYS.vpcCidr, { value: config.vpcCidr });
  new CfnOutput(stack, OUTPUT_KEYS.nodeSyncBundleUrl, { value: nodeSyncBundle.s3ObjectUrl });

  return { config, stack, vpc, cluster, loadBalancer };
}

/**
 * KEDA (docs/scaling.md), only with autoscaling: its operator, metrics server and admission webhooks on the system
 * nodes (the chart's top-level nodeSelector is the default of all three). No irsaRoles: the add-on takes only AWS
 * managed policies there, far broader than reading two queues; KedaAccess gives the operator its own role.
 */
function kedaAddOns(config: AppConfig): blueprints.ClusterAddOn[] {
  if (!config.autoscaling) return [];
  return [
    new blueprints.KedaAddOn({
      version: HELM_CHART_VERSIONS.keda,
      namespace: KEDA_NAMESPACE,
      kedaServiceAccountName: KEDA_OPERATOR_SERVICE_ACCOUNT,
      // Also the operator pods' app.kubernetes.io/name, which the job runner's NetworkPolicy admits.
      kedaOperatorName: KEDA_OPERATOR_NAME,
      values: { nodeSelector: { [SYSTEM_NODE_LABEL.key]: SYSTEM_NODE_LABEL.value } },
    }),
  ];
}

/** A bucket ARN from its configured name: a plain string, so no cross-stack export ties the stacks. */
function bucketArn(stack: Stack, bucketName: string): string {
  return `arn:${stack.partition}:s3:::${bucketName}`;
}
