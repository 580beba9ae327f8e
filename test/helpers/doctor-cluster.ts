import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { COMFYUI_SCALED_OBJECT, KEDA_DEPLOYMENTS } from '../../lib/cli/doctor/checks/keda-check';
import { COMFYUI_NAMESPACE, GPU_NODE_POOLS, GPU_TAINT_KEY, KEDA_NAMESPACE, MODELS_READY_TAINT_KEY } from '../../lib/names';
import { KubeControlPlane, waitFor } from './kube-control-plane';

/**
 * A cluster as doctor would find it on EKS, on the real test control plane: nodes, the add-ons' DaemonSets and
 * Deployments (their controllers create the pods), Karpenter's objects with the status Karpenter would write, and
 * the kubelet's part played by the test (binding pods and marking them Ready), since the control plane has none.
 */
const CRDS = path.join(__dirname, '..', '..', 'build', 'tools', 'crds');
const GPU_LABEL = { key: 'karpenter.k8s.aws/instance-gpu-manufacturer', value: 'nvidia' };
export const SYSTEM_NODE = 'ip-10-40-1-10.eu-west-1.compute.internal';
export const GPU_NODE = { name: 'ip-10-40-2-20.eu-west-1.compute.internal', instanceId: 'i-0aaa' };
/** The node `breakCluster` adds: its sync failed, so it keeps the startup taint. */
export const STUCK_GPU_NODE = { name: 'ip-10-40-2-30.eu-west-1.compute.internal', instanceId: 'i-0bbb' };
const PAUSE = 'registry.k8s.io/pause:3.10';
/** What the kubelet reports when the Mountpoint CSI driver is missing on the node. */
export const FAILED_MOUNT = 'MountVolume.MountDevice failed for volume "comfyui-outputs-comfyui" : kubernetes.io/csi: attacher.MountDevice failed to create newCsiDriverClient: driver name s3.csi.aws.com not found in the list of registered CSI drivers';

function must(kube: KubeControlPlane, args: string[], input?: string): string {
  const run = kube.kubectl(args, input);
  if (run.status !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${run.stderr}`);
  return run.stdout;
}

const apply = (kube: KubeControlPlane, objects: object[]) => must(kube, ['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
const patchStatus = (kube: KubeControlPlane, what: string[], status: object) =>
  must(kube, ['patch', ...what, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);

function gpuNodeObject(node: { name: string; instanceId: string }, modelsReady: boolean): object {
  const taints = [{ key: GPU_TAINT_KEY, value: 'true', effect: 'NoSchedule' }];
  if (!modelsReady) taints.push({ key: MODELS_READY_TAINT_KEY, value: 'true', effect: 'NoSchedule' });
  return {
    apiVersion: 'v1', kind: 'Node',
    metadata: { name: node.name, labels: { 'kubernetes.io/os': 'linux', 'karpenter.sh/nodepool': GPU_NODE_POOLS[0], [GPU_LABEL.key]: GPU_LABEL.value } },
    spec: { providerID: `aws:///eu-west-1a/${node.instanceId}`, taints },
  };
}

function markNodeReady(kube: KubeControlPlane, name: string, gpus: number): void {
  const resources = { cpu: '8', memory: '32Gi', pods: '110', ...(gpus > 0 ? { 'nvidia.com/gpu': String(gpus) } : {}) };
  patchStatus(kube, ['node', name], {
    capacity: resources, allocatable: resources,
    conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: new Date().toISOString(), lastTransitionTime: new Date().toISOString() }],
  });
}

const everything = [{ operator: 'Exists' }];
function daemonSet(namespace: string, name: string, gpuOnly: boolean): object {
  const labels = { 'app.kubernetes.io/name': name };
  return {
    apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name, namespace },
    spec: {
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { tolerations: everything, ...(gpuOnly ? { nodeSelector: { [GPU_LABEL.key]: GPU_LABEL.value } } : {}), containers: [{ name, image: PAUSE }] },
      },
    },
  };
}

function deployment(namespace: string, name: string, gpu: boolean): object {
  const labels = { 'app.kubernetes.io/name': name };
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace },
    spec: {
      replicas: 1, selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          ...(gpu ? { tolerations: [{ key: GPU_TAINT_KEY, operator: 'Exists', effect: 'NoSchedule' }] } : {}),
          containers: [{ name, image: PAUSE, ...(gpu ? { resources: { limits: { 'nvidia.com/gpu': '1' } } } : {}) }],
        },
      },
    },
  };
}

const condition = (type: string, status: string, message = type) =>
  ({ type, status, reason: status === 'True' ? type : 'NotReady', message, lastTransitionTime: new Date().toISOString() });

function karpenterObjects(): object[] {
  return [
    {
      apiVersion: 'karpenter.k8s.aws/v1', kind: 'EC2NodeClass', metadata: { name: 'comfyui-gpu' },
      spec: {
        role: 'KarpenterNodeRole', amiSelectorTerms: [{ alias: 'al2023@v20251120' }],
        subnetSelectorTerms: [{ tags: { 'karpenter.sh/discovery': 'studio' } }], securityGroupSelectorTerms: [{ id: 'sg-0a1b2c3d4e5f60718' }],
      },
    },
    {
      apiVersion: 'karpenter.sh/v1', kind: 'NodePool', metadata: { name: GPU_NODE_POOLS[0] },
      spec: { template: { spec: { nodeClassRef: { group: 'karpenter.k8s.aws', kind: 'EC2NodeClass', name: 'comfyui-gpu' }, requirements: [{ key: 'kubernetes.io/arch', operator: 'In', values: ['amd64'] }] } } },
    },
  ];
}

interface PodItem {
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
  spec: { nodeName?: string; affinity?: { nodeAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms: { matchFields?: { values: string[] }[] }[] } } } };
  status: { conditions?: { type: string; status: string }[] };
}

function pods(kube: KubeControlPlane, namespace: string): PodItem[] {
  return JSON.parse(must(kube, ['get', 'pods', '-n', namespace, '-o', 'json'])).items;
}

/** The node a DaemonSet pod is pinned to (the controller's matchFields on metadata.name), else where a Deployment's pod goes. */
function targetNode(pod: PodItem): string {
  const pinned = pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms[0]?.matchFields?.[0]?.values[0];
  return pinned ?? (pod.metadata.labels?.['app.kubernetes.io/name'] === 'comfyui' ? GPU_NODE.name : SYSTEM_NODE);
}

/** What kube-scheduler does for a pod it placed: the pods/binding subresource. */
function bindPod(kube: KubeControlPlane, namespace: string, name: string, node: string): void {
  const binding = { apiVersion: 'v1', kind: 'Binding', metadata: { name }, target: { apiVersion: 'v1', kind: 'Node', name: node } };
  must(kube, ['create', '--raw', `/api/v1/namespaces/${namespace}/pods/${name}/binding`, '-f', '-'], JSON.stringify(binding));
}

/** The kubelet's part: bind each pod not yet Ready (except `leave`) to its node and report it Running and Ready. */
export function actAsKubelet(kube: KubeControlPlane, leave: (pod: PodItem) => boolean = () => false): void {
  for (const namespace of ['kube-system', KEDA_NAMESPACE, COMFYUI_NAMESPACE]) {
    for (const pod of pods(kube, namespace)) {
      if (leave(pod) || pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) continue;
      const node = targetNode(pod);
      if (!pod.spec.nodeName) bindPod(kube, namespace, pod.metadata.name, node);
      const now = new Date().toISOString();
      patchStatus(kube, ['pod', pod.metadata.name, '-n', namespace], {
        phase: 'Running', startTime: now,
        conditions: ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'].map((type) => ({ type, status: 'True', lastTransitionTime: now })),
      });
    }
  }
}

/** Polls until every DaemonSet and Deployment reports all its pods ready (the controllers saw the kubelet's reports). */
export async function waitForWorkloadsReady(kube: KubeControlPlane, settle: () => void): Promise<void> {
  await waitFor('every workload ready', 60_000, undefined, () => {
    settle();
    const ds = JSON.parse(must(kube, ['get', 'daemonsets', '-A', '-o', 'json'])).items as { status?: { desiredNumberScheduled?: number; numberReady?: number } }[];
    const deploys = JSON.parse(must(kube, ['get', 'deployments', '-A', '-o', 'json'])).items as { spec: { replicas: number }; status?: { readyReplicas?: number } }[];
    return ds.every((d) => (d.status?.desiredNumberScheduled ?? 0) > 0 && d.status?.numberReady === d.status?.desiredNumberScheduled)
      && deploys.every((d) => (d.status?.readyReplicas ?? 0) === d.spec.replicas);
  });
}

/**
 * A copy of the control plane's kubeconfig whose context is named as `aws eks update-kubeconfig` names it (the
 * cluster's ARN), so doctor can tell it points at the cluster of the outputs file.
 */
export function eksStyleKubeconfig(kube: KubeControlPlane, clusterName: string): string {
  const arn = `arn:aws:eks:eu-west-1:123456789012:cluster/${clusterName}`;
  const file = `${kube.kubeconfig}-eks`;
  writeFileSync(file, readFileSync(kube.kubeconfig, 'utf8').replace(/current-context: test/, `current-context: ${arn}`).replace(/- name: test\n  context:/, `- name: ${arn}\n  context:`));
  return file;
}

/** Seeds a healthy cluster: a system node, a GPU node whose models are ready, every add-on ready, ComfyUI Ready. */
export async function seedHealthyCluster(kube: KubeControlPlane): Promise<void> {
  for (const crd of ['karpenter.sh_nodepools.yaml', 'karpenter.k8s.aws_ec2nodeclasses.yaml']) must(kube, ['apply', '--server-side', '-f', path.join(CRDS, crd)]);
  must(kube, ['wait', '--for=condition=Established', '--timeout=120s', 'crd', 'nodepools.karpenter.sh', 'ec2nodeclasses.karpenter.k8s.aws']);
  apply(kube, [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: COMFYUI_NAMESPACE } },
    { apiVersion: 'v1', kind: 'Node', metadata: { name: SYSTEM_NODE, labels: { 'kubernetes.io/os': 'linux' } }, spec: { providerID: 'aws:///eu-west-1a/i-0000000000000001' } },
    gpuNodeObject(GPU_NODE, true),
    ...karpenterObjects(),
  ]);
  markNodeReady(kube, SYSTEM_NODE, 0);
  markNodeReady(kube, GPU_NODE.name, 1);
  patchStatus(kube, ['ec2nodeclass', 'comfyui-gpu'], {
    amis: [{ id: 'ami-0123456789abcdef0', name: 'amazon-eks-node-al2023-x86_64-nvidia', requirements: [] }],
    conditions: ['AMIsReady', 'SubnetsReady', 'SecurityGroupsReady', 'InstanceProfileReady', 'Ready'].map((t) => condition(t, 'True')),
  });
  patchStatus(kube, ['nodepool', GPU_NODE_POOLS[0]], { conditions: ['NodeClassReady', 'ValidationSucceeded', 'Ready'].map((t) => condition(t, 'True')) });
  apply(kube, [
    daemonSet('kube-system', 'aws-node', false),
    daemonSet('kube-system', 's3-csi-node', false),
    daemonSet('kube-system', 'nvidia-device-plugin', true),
    daemonSet(COMFYUI_NAMESPACE, 'model-gate', true),
    deployment('kube-system', 'aws-load-balancer-controller', false),
    deployment('kube-system', 'karpenter', false),
    deployment('kube-system', 's3-csi-controller', false),
    deployment(COMFYUI_NAMESPACE, 'comfyui', true),
  ]);
  await seedKeda(kube);
  await waitForWorkloadsReady(kube, () => actAsKubelet(kube));
}

/**
 * KEDA's ScaledObject kind, cut down to what doctor reads (names and status conditions): the served group, version
 * and names of KEDA's own CRD (keda.sh/v1alpha1 scaledobjects), with its status subresource.
 */
const SCALED_OBJECT_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'scaledobjects.keda.sh' },
  spec: {
    group: 'keda.sh', scope: 'Namespaced',
    names: { kind: 'ScaledObject', listKind: 'ScaledObjectList', plural: 'scaledobjects', singular: 'scaledobject', shortNames: ['so'] },
    versions: [{
      name: 'v1alpha1', served: true, storage: true, subresources: { status: {} },
      schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
    }],
  },
};

/** KEDA as the chart installs it (operator and metrics API server in `keda`) and the ComfyUI ScaledObject, Ready. */
async function seedKeda(kube: KubeControlPlane): Promise<void> {
  apply(kube, [SCALED_OBJECT_CRD, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: KEDA_NAMESPACE } }]);
  must(kube, ['wait', '--for=condition=Established', '--timeout=120s', 'crd', 'scaledobjects.keda.sh']);
  apply(kube, [
    ...KEDA_DEPLOYMENTS.map((name) => deployment(KEDA_NAMESPACE, name, false)),
    {
      apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', metadata: { name: COMFYUI_SCALED_OBJECT, namespace: COMFYUI_NAMESPACE },
      spec: { scaleTargetRef: { name: 'comfyui' }, minReplicaCount: 0, triggers: [{ type: 'aws-sqs-queue', metadata: { queueURL: 'https://sqs/jobs', queueLength: '1' } }] },
    },
  ]);
  patchStatus(kube, ['scaledobject', COMFYUI_SCALED_OBJECT, '-n', COMFYUI_NAMESPACE], {
    conditions: [condition('Ready', 'True', 'ScaledObject is defined correctly and is ready for scaling'), condition('Active', 'False', 'no demand')],
  });
}

/** What KEDA writes when a trigger cannot be read: the ScaledObject stops being Ready. */
export const SCALER_FAILURE = 'error establishing AWS session: sqs queue not found';

/**
 * Breaks the healthy cluster the ways the issue lists: a GPU node whose sync failed (still carrying the
 * models-not-ready taint), a NodePool not Ready, the Mountpoint node DaemonSet gone, and two more ComfyUI pods: one
 * the scheduler could not place because of that taint, one whose outputs volume does not mount; and the ComfyUI
 * ScaledObject not Ready (KEDA cannot read its trigger).
 */
export async function breakCluster(kube: KubeControlPlane): Promise<void> {
  apply(kube, [gpuNodeObject(STUCK_GPU_NODE, false)]);
  markNodeReady(kube, STUCK_GPU_NODE.name, 1);
  // Its DaemonSet pods (CNI, Mountpoint, device plugin, model gate) tolerate every taint: they run there. Wait for
  // the controller to want them first, or the workloads would look ready with the node's pods not yet created.
  const desired = (namespace: string, name: string) =>
    JSON.parse(must(kube, ['get', 'daemonset', name, '-n', namespace, '-o', 'json'])).status?.desiredNumberScheduled;
  await waitFor('the DaemonSets to want the new node', 60_000, undefined,
    () => desired('kube-system', 'aws-node') === 3 && desired('kube-system', 'nvidia-device-plugin') === 2 && desired(COMFYUI_NAMESPACE, 'model-gate') === 2);
  await waitForWorkloadsReady(kube, () => actAsKubelet(kube));
  patchStatus(kube, ['nodepool', GPU_NODE_POOLS[0]], {
    conditions: [condition('NodeClassReady', 'False', 'EC2NodeClass not ready'), condition('ValidationSucceeded', 'True'), condition('Ready', 'False', 'NodeClassReady=False')],
  });
  must(kube, ['delete', 'daemonset', 's3-csi-node', '-n', 'kube-system', '--wait=false']);
  must(kube, ['scale', 'deployment', 'comfyui', '-n', COMFYUI_NAMESPACE, '--replicas=3']);
  const isComfyui = (pod: PodItem) => pod.metadata.labels?.['app.kubernetes.io/name'] === 'comfyui';
  let added: PodItem[] = [];
  await waitFor('two more ComfyUI pods', 60_000, undefined, () => {
    added = pods(kube, COMFYUI_NAMESPACE).filter((p) => isComfyui(p) && !p.spec.nodeName);
    return added.length === 2;
  });
  const [unschedulable, unmounted] = added;
  // No scheduler here: write what kube-scheduler writes when the only free GPU node still carries the taint.
  const message = `0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated taint {${MODELS_READY_TAINT_KEY}: true}, 1 node(s) had no available GPU. preemption: not eligible.`;
  patchStatus(kube, ['pod', unschedulable.metadata.name, '-n', COMFYUI_NAMESPACE], {
    phase: 'Pending',
    conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message, lastTransitionTime: new Date().toISOString() }],
  });
  // The other one was placed, and its kubelet cannot mount the outputs volume: it reports an event, as on EKS.
  bindPod(kube, COMFYUI_NAMESPACE, unmounted.metadata.name, GPU_NODE.name);
  const now = new Date().toISOString();
  apply(kube, [{
    apiVersion: 'v1', kind: 'Event', metadata: { name: `${unmounted.metadata.name}.failedmount`, namespace: COMFYUI_NAMESPACE },
    involvedObject: { kind: 'Pod', name: unmounted.metadata.name, namespace: COMFYUI_NAMESPACE },
    reason: 'FailedMount', type: 'Warning', message: FAILED_MOUNT, firstTimestamp: now, lastTimestamp: now, count: 1,
    source: { component: 'kubelet', host: GPU_NODE.name },
  }]);
  // And KEDA can no longer read its trigger.
  patchStatus(kube, ['scaledobject', COMFYUI_SCALED_OBJECT, '-n', COMFYUI_NAMESPACE], {
    conditions: [
      { type: 'Ready', status: 'False', reason: 'ScaledObjectCheckFailed', message: SCALER_FAILURE, lastTransitionTime: new Date().toISOString() },
      condition('Active', 'False', 'no demand'),
    ],
  });
}
