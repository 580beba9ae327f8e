import { judge } from '../../lib/cli/doctor/all-checks';
import { CheckVerdict } from '../../lib/cli/doctor/check-verdict';
import { DoctorFacts } from '../../lib/cli/doctor/doctor-facts';
import { KubeNode, KubePod } from '../../lib/cli/doctor/kube-objects';
import { COMFYUI_SCALED_OBJECT, KEDA_DEPLOYMENTS } from '../../lib/cli/doctor/checks/keda-check';
import { SYSTEM_ADDONS } from '../../lib/cli/doctor/system-addons';
import { GPU_NODE_POOLS, GPU_TAINT_KEY, KEDA_NAMESPACE, STACK_NAMES } from '../../lib/names';

/** A fixed clock, so ages and windows in the facts never depend on when the test runs. */
export const NOW = new Date('2026-11-30T12:00:00Z');
const minutesAgo = (m: number) => new Date(NOW.getTime() - m * 60_000);

export function systemNode(): KubeNode {
  return {
    metadata: { name: 'ip-10-40-1-10.eu-west-1.compute.internal', creationTimestamp: minutesAgo(600).toISOString() },
    spec: { providerID: 'aws:///eu-west-1a/i-0sys00000000000' },
    status: { conditions: [{ type: 'Ready', status: 'True' }], allocatable: { cpu: '4' } },
  };
}

/** A GPU node of the single-GPU pool, Ready, one GPU advertised, its startup taint lifted. */
export function gpuNode(instanceId = 'i-0aaa', ageMinutes = 60): KubeNode {
  return {
    metadata: {
      name: `gpu-node-${instanceId}`,
      labels: { 'karpenter.sh/nodepool': GPU_NODE_POOLS[0] },
      creationTimestamp: minutesAgo(ageMinutes).toISOString(),
    },
    spec: { providerID: `aws:///eu-west-1a/${instanceId}`, taints: [{ key: GPU_TAINT_KEY, value: 'true', effect: 'NoSchedule' }] },
    status: { conditions: [{ type: 'Ready', status: 'True' }], allocatable: { 'nvidia.com/gpu': '1' } },
  };
}

export function readyComfyuiPod(name = 'comfyui-7d9f-abcde', nodeName = gpuNode().metadata.name): KubePod {
  return {
    metadata: { name, namespace: 'comfyui', labels: { 'app.kubernetes.io/name': 'comfyui' } },
    spec: { nodeName },
    status: { phase: 'Running', conditions: [{ type: 'PodScheduled', status: 'True' }, { type: 'Ready', status: 'True' }] },
  };
}

/** Every add-on ready on every node it must run on, for `nodes`. */
function healthyWorkloads(nodes: readonly KubeNode[], comfyuiReplicas: number) {
  const gpuCount = nodes.filter((n) => n.spec?.taints?.some((t) => t.key === GPU_TAINT_KEY)).length;
  const daemonSets = SYSTEM_ADDONS.filter((a) => a.kind === 'DaemonSet').map((a) => {
    const count = a.placement === 'gpu-nodes' ? gpuCount : nodes.length;
    return { metadata: { name: a.name, namespace: a.namespace }, status: { desiredNumberScheduled: count, numberReady: count } };
  });
  const deployments = [
    ...SYSTEM_ADDONS.filter((a) => a.kind === 'Deployment').map((a) => ({ metadata: { name: a.name, namespace: a.namespace }, spec: { replicas: 1 }, status: { readyReplicas: 1 } })),
    { metadata: { name: 'comfyui', namespace: 'comfyui' }, spec: { replicas: comfyuiReplicas }, status: { readyReplicas: comfyuiReplicas } },
    ...KEDA_DEPLOYMENTS.map((name) => ({ metadata: { name, namespace: KEDA_NAMESPACE }, spec: { replicas: 1 }, status: { readyReplicas: 1 } })),
  ];
  return { daemonSets, deployments };
}

/**
 * The facts of a healthy deployment (by default one system and one GPU node, one ComfyUI pod on it); tests break
 * one fact at a time. Without GPU nodes, ComfyUI is scaled to zero.
 */
export function healthyFacts(nodes: readonly KubeNode[] = [systemNode(), gpuNode()]): DoctorFacts {
  const scaledToZero = !nodes.some((n) => n.spec?.taints?.some((t) => t.key === GPU_TAINT_KEY));
  const { daemonSets, deployments } = healthyWorkloads(nodes, scaledToZero ? 0 : 1);
  const ready = [{ type: 'Ready', status: 'True' }];
  return {
    now: NOW,
    outputsFile: 'cdk-outputs.json',
    outputs: {
      ok: {
        [STACK_NAMES.ecrRepo]: { EcrRepositoryUri: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/comfyui' },
        [STACK_NAMES.outputsStorage]: { OutputsBucketName: 'outputs' },
        [STACK_NAMES.modelsSync]: { ModelsBucketName: 'models', ModelSyncQueueUrl: 'https://sqs/q', ModelSyncLogGroupName: '/comfyui/studio/model-sync' },
        [STACK_NAMES.cluster]: {
          ClusterName: 'studio', Region: 'eu-west-1', KubeconfigCommand: 'aws eks update-kubeconfig --name studio', ComfyuiTargetGroupArn: 'arn:tg',
          KarpenterNodeRoleName: 'role', ClusterSecurityGroupId: 'sg-1', NodeSyncBundleUrl: 's3://assets/bundle.zip',
        },
        [STACK_NAMES.cloudFrontEntry]: { CloudFrontUrl: 'https://d111111abcdef8.cloudfront.net' },
      },
    },
    stacks: { ok: Object.fromEntries([STACK_NAMES.ecrRepo, STACK_NAMES.outputsStorage, STACK_NAMES.modelsSync, STACK_NAMES.cluster, STACK_NAMES.cloudFrontEntry].map((s) => [s, 'CREATE_COMPLETE'])) },
    kubeAccess: { ok: { admin: true, answer: 'yes' } },
    cluster: {
      nodes: { ok: nodes },
      daemonSets: { ok: daemonSets },
      deployments: { ok: deployments },
      pods: { ok: scaledToZero ? [] : [readyComfyuiPod()] },
      events: { ok: [] },
      nodeClasses: { ok: [{ metadata: { name: 'comfyui-gpu' }, status: { amis: [{ id: 'ami-0123456789abcdef0' }], conditions: ready } }] },
      nodePools: { ok: [{ metadata: { name: GPU_NODE_POOLS[0] }, status: { conditions: ready } }] },
      scaledObjects: { ok: [{ metadata: { name: COMFYUI_SCALED_OBJECT, namespace: 'comfyui' }, status: { conditions: [...ready, { type: 'Active', status: 'False' }] } }] },
    },
    syncStatuses: { ok: [{ instanceId: 'i-0aaa', result: 'Success', commandId: 'boot-1', lastSync: minutesAgo(50), summary: 'done: 2 downloaded (12.0 GiB), 0 deleted; cache holds 2 objects, 12.0 GiB' }] },
    syncSince: minutesAgo(24 * 60),
    targetHealth: { ok: [{ id: '10.40.2.17', port: 8188, state: 'healthy' }] },
    edge: { ok: { url: 'https://d111111abcdef8.cloudfront.net/', tokenGiven: true, request: { ok: { status: 200 } }, webSocket: { ok: { opened: true } } } },
    outputsWrite: { ok: { bucket: 'outputs', mode: 'put-delete' } },
    deadLetters: { ok: { queueUrl: 'https://sqs/dlq', messages: 0 } },
    edgeStacks: { ok: {} },
  };
}

/** The verdict of check `name` for `facts`. */
export function verdict(facts: DoctorFacts, name: string): CheckVerdict {
  const found = judge(facts).find((v) => v.name === name);
  if (!found) throw new Error(`no check named ${name}`);
  return found;
}

/** healthyFacts() with the cluster facts changed. */
export function withCluster(change: Partial<DoctorFacts['cluster']>, facts: Partial<DoctorFacts> = {}): DoctorFacts {
  const healthy = healthyFacts();
  return { ...healthy, ...facts, cluster: { ...healthy.cluster, ...change } };
}
