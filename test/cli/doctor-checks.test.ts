import { describe, expect, test } from 'vitest';
import { judge } from '../../lib/cli/doctor/all-checks';
import { formatVerdictLine } from '../../lib/cli/doctor/check-verdict';
import { KubeEvent, KubePod } from '../../lib/cli/doctor/kube-objects';
import { podTrouble } from '../../lib/cli/doctor/pod-trouble';
import { GPU_NODE_POOLS, MODELS_READY_TAINT_KEY, STACK_NAMES } from '../../lib/names';
import { gpuNode, healthyFacts, NOW, readyComfyuiPod, systemNode, verdict, withCluster } from '../helpers/doctor-facts';

const modelsTaint = { key: MODELS_READY_TAINT_KEY, value: 'true', effect: 'NoSchedule' };

function pendingPod(conditions: KubePod['status'] = {}): KubePod {
  const pod = readyComfyuiPod('comfyui-7d9f-pending');
  return { ...pod, spec: {}, status: { phase: 'Pending', ...conditions } };
}

describe('doctor verdicts over gathered facts', () => {
  test('a healthy deployment passes every check, each on its own line', () => {
    const verdicts = judge(healthyFacts());
    expect(verdicts.map((v) => [v.name, v.status])).toEqual([
      'stacks', 'edge-stacks', 'kube-access', 'addons', 'node-class', 'node-pools', 'gpu-nodes', 'model-sync', 'comfyui-pods',
      'keda', 'job-runner', 'target-health', 'edge-request', 'edge-websocket', 'outputs-bucket', 'sync-dlq', 'jobs-dlq', 'metrics-agents', 'sync-failures',
    ].map((name) => [name, 'PASS']));
    expect(verdicts.map(formatVerdictLine).every((line) => !line.includes('\n'))).toBe(true);
  });

  test('no GPU nodes is fine: scaled to zero', () => {
    const facts = healthyFacts([systemNode()]);
    expect(verdict(facts, 'gpu-nodes')).toMatchObject({ status: 'PASS', detail: expect.stringContaining('scaled to zero') });
    expect(verdict(facts, 'model-sync').status).toBe('PASS');
    expect(verdict(facts, 'addons').status).toBe('PASS');
    expect(verdict(facts, 'comfyui-pods')).toMatchObject({ status: 'WARN', detail: expect.stringContaining('scaled to zero') });
  });

  test('a stack not deployed, one rolled back, and a missing output each FAIL with the deploy command', () => {
    const healthy = healthyFacts();
    const statuses = { ...(healthy.stacks as any).ok, [STACK_NAMES.cluster]: 'UPDATE_ROLLBACK_FAILED' };
    delete statuses[STACK_NAMES.cloudFrontEntry];
    const outputs = { ...(healthy.outputs as any).ok, [STACK_NAMES.outputsStorage]: {} };
    const v = verdict({ ...healthy, stacks: { ok: statuses }, outputs: { ok: outputs } }, 'stacks');
    expect(v.status).toBe('FAIL');
    expect(v.detail).toContain(`not deployed: ${STACK_NAMES.cloudFrontEntry}`);
    expect(v.detail).toContain(`not usable: ${STACK_NAMES.cluster} UPDATE_ROLLBACK_FAILED`);
    expect(v.detail).toContain(`lacks ${STACK_NAMES.outputsStorage}.OutputsBucketName`);
    expect(v.next).toContain('npx cdk deploy --all --outputs-file cdk-outputs.json');
    expect(v.next).toContain(`describe-stack-events --stack-name ${STACK_NAMES.cluster}`);
  });

  test('the jobs stack is optional: absent passes, present but rolled back FAILs', () => {
    const healthy = healthyFacts();
    expect(verdict(healthy, 'stacks').status).toBe('PASS');
    const statuses = { ...(healthy.stacks as any).ok, [STACK_NAMES.jobs]: 'ROLLBACK_COMPLETE' };
    expect(verdict({ ...healthy, stacks: { ok: statuses } }, 'stacks')).toMatchObject({ status: 'FAIL', detail: `not usable: ${STACK_NAMES.jobs} ROLLBACK_COMPLETE` });
  });

  test('kubectl that is not the cluster admin FAILs with how to become it', () => {
    const v = verdict({ ...healthyFacts(), kubeAccess: { ok: { admin: false, answer: 'no' } } }, 'kube-access');
    expect(v).toMatchObject({ status: 'FAIL', next: expect.stringContaining('clusterAdminArn') });
    const unreachable = verdict({ ...healthyFacts(), kubeAccess: { error: 'dial tcp: i/o timeout' } }, 'kube-access');
    expect(unreachable).toMatchObject({ status: 'FAIL', next: expect.stringContaining('KubeconfigCommand') });
    const missing = verdict({ ...healthyFacts(), kubeAccess: { error: 'kubectl: spawn kubectl ENOENT' } }, 'kube-access');
    expect(missing).toMatchObject({ status: 'FAIL', next: expect.stringContaining('--kubectl') });
  });

  test("a kubectl context that names another cluster WARNs: the cluster checks would look at the wrong one", () => {
    const through = (context: string) => verdict({ ...healthyFacts(), kubeAccess: { ok: { admin: true, answer: 'yes', context } } }, 'kube-access');
    expect(through('arn:aws:eks:eu-west-1:123456789012:cluster/other')).toMatchObject({ status: 'WARN', next: expect.stringContaining('KubeconfigCommand') });
    expect(through('arn:aws:eks:eu-west-1:123456789012:cluster/studio').status).toBe('PASS');
  });

  test('a missing add-on DaemonSet, and aws-node that skips GPU nodes, FAIL with where to look', () => {
    const daemonSets = (healthyFacts().cluster.daemonSets as any).ok
      .filter((d: any) => d.metadata.name !== 's3-csi-node')
      .map((d: any) => (d.metadata.name === 'aws-node' ? { ...d, status: { desiredNumberScheduled: 1, numberReady: 1 } } : d));
    const v = verdict(withCluster({ daemonSets: { ok: daemonSets } }), 'addons');
    expect(v.status).toBe('FAIL');
    expect(v.detail).toContain('Mountpoint S3 CSI node: DaemonSet kube-system/s3-csi-node missing');
    expect(v.detail).toContain('VPC CNI: kube-system/aws-node wants 1 of 2 nodes');
    expect(v.next).toContain('kubectl -n kube-system describe daemonset s3-csi-node');
  });

  test('an EC2NodeClass without an AMI and a NodePool not ready FAIL with their conditions', () => {
    const nodeClass = { metadata: { name: 'comfyui-gpu' }, status: { conditions: [{ type: 'AMIsReady', status: 'False', message: 'AMISelector did not match any AMIs' }, { type: 'Ready', status: 'False' }] } };
    const pool = { metadata: { name: GPU_NODE_POOLS[0] }, status: { conditions: [{ type: 'NodeClassReady', status: 'False', message: 'EC2NodeClass not ready' }, { type: 'Ready', status: 'False' }] } };
    const facts = withCluster({ nodeClasses: { ok: [nodeClass] }, nodePools: { ok: [pool] } });
    expect(verdict(facts, 'node-class')).toMatchObject({ status: 'FAIL', detail: expect.stringContaining('comfyui-gpu resolved no AMI') });
    expect(verdict(facts, 'node-class').detail).toContain('AMIsReady=False (AMISelector did not match any AMIs)');
    expect(verdict(facts, 'node-pools')).toMatchObject({ status: 'FAIL', detail: `${GPU_NODE_POOLS[0]} not Ready: NodeClassReady=False (EC2NodeClass not ready)` });
    expect(verdict(withCluster({ nodePools: { ok: [] } }), 'node-pools')).toMatchObject({ status: 'FAIL', next: expect.stringContaining('kubectl apply -k') });
  });

  test('a GPU node that advertises no GPU FAILs: the device plugin or the driver', () => {
    const node = gpuNode();
    const noGpu = { ...node, status: { ...node.status, allocatable: {} } };
    const v = verdict(withCluster({ nodes: { ok: [systemNode(), noGpu] } }), 'gpu-nodes');
    expect(v).toMatchObject({ status: 'FAIL', next: expect.stringContaining('nvidia-device-plugin') });
  });

  test('per GPU node: a failed sync FAILs, a taint kept after a good sync FAILs, a young node still syncing WARNs', () => {
    const failedNode = gpuNode('i-0bbb');
    const stuck = gpuNode('i-0ccc');
    const young = gpuNode('i-0ddd', 3);
    for (const node of [stuck, young]) (node.spec as any).taints = [...node.spec!.taints!, modelsTaint];
    const statuses = [
      { instanceId: 'i-0bbb', result: 'Failed' as const, commandId: 'c-1', summary: 'FAILED: the models do not fit: 90.0 GiB to download, 60.0 GiB free' },
      { instanceId: 'i-0ccc', result: 'Success' as const, commandId: 'boot-2' },
    ];
    const facts = withCluster({ nodes: { ok: [systemNode(), failedNode, stuck, young] } }, { syncStatuses: { ok: statuses } });
    const v = verdict(facts, 'model-sync');
    expect(v.status).toBe('FAIL');
    expect(v.detail).toContain('i-0bbb: Failed (FAILED: the models do not fit');
    expect(v.detail).toContain('i-0ccc: Success;');
    expect(v.detail).toContain(`${MODELS_READY_TAINT_KEY} taint still on although the sync succeeded`);
    expect(v.detail).toContain('i-0ddd: no sync report');
    expect(v.next).toContain('comfyctl models status');
    const onlyYoung = withCluster({ nodes: { ok: [systemNode(), young] } }, { syncStatuses: { ok: [] } });
    expect(verdict(onlyYoung, 'model-sync').status).toBe('WARN');
    const oldAndSilent = withCluster({ nodes: { ok: [systemNode(), { ...young, metadata: { ...young.metadata, creationTimestamp: new Date(NOW.getTime() - 3_600_000).toISOString() } }] } }, { syncStatuses: { ok: [] } });
    expect(verdict(oldAndSilent, 'model-sync').status).toBe('FAIL');
  });

  test('a Pending pod names why: the models-not-ready taint, another taint, no GPU, a failed mount, the image', () => {
    const unschedulable = (message: string) => pendingPod({ conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message }] });
    const modelsWait = podTrouble(unschedulable(`0/2 nodes are available: 1 node(s) had untolerated taint {${MODELS_READY_TAINT_KEY}: true}.`), []);
    expect(modelsWait).toMatchObject({ reason: expect.stringContaining("waits for the node's model sync"), next: expect.stringContaining('ds/model-gate') });
    const otherTaint = podTrouble(unschedulable('0/2 nodes are available: 2 node(s) had untolerated taint {dedicated: batch}.'), []);
    expect(otherTaint).toMatchObject({ reason: expect.stringContaining('a node taint it does not tolerate'), next: expect.stringContaining('TAINTS') });
    const noGpu = podTrouble(unschedulable('0/1 nodes are available: 1 Insufficient nvidia.com/gpu.'), []);
    expect(noGpu).toMatchObject({ reason: expect.stringContaining('no free GPU'), next: expect.stringContaining('deploy/karpenter') });
    const scheduled = pendingPod({ conditions: [{ type: 'PodScheduled', status: 'True' }] });
    const mountEvent: KubeEvent = { involvedObject: { kind: 'Pod', name: scheduled.metadata.name }, reason: 'FailedMount', message: 'MountVolume.SetUp failed for volume "outputs": rpc error: AccessDenied' };
    expect(podTrouble(scheduled, [mountEvent])).toMatchObject({ reason: expect.stringContaining('AccessDenied'), next: expect.stringContaining('s3-csi-node') });
    const pulling = { ...scheduled, status: { ...scheduled.status, containerStatuses: [{ name: 'comfyui', ready: false, state: { waiting: { reason: 'ImagePullBackOff' } } }] } };
    expect(podTrouble(pulling, [])).toMatchObject({ next: expect.stringContaining('build_and_push.sh') });
    expect(podTrouble(readyComfyuiPod(), [])).toBeUndefined();
  });

  test('the pods check FAILs on a Pending pod, with the scheduler event when the condition has no message', () => {
    const pod = pendingPod();
    const event: KubeEvent = { involvedObject: { name: pod.metadata.name }, reason: 'FailedScheduling', message: '0/1 nodes are available: 1 Insufficient nvidia.com/gpu.' };
    const v = verdict(withCluster({ pods: { ok: [readyComfyuiPod(), pod] }, events: { ok: [event] } }), 'comfyui-pods');
    expect(v).toMatchObject({ status: 'FAIL', detail: expect.stringMatching(/^1\/2 pods Ready; comfyui-7d9f-pending Pending: no free GPU/) });
  });

  test('unhealthy or missing ALB targets FAIL with describe-target-health', () => {
    const unhealthy = verdict({ ...healthyFacts(), targetHealth: { ok: [{ id: '10.40.2.17', port: 8188, state: 'unhealthy', reason: 'Target.Timeout' }] } }, 'target-health');
    expect(unhealthy).toMatchObject({ status: 'FAIL', detail: '0/1 targets healthy; 10.40.2.17:8188 unhealthy (Target.Timeout)' });
    expect(unhealthy.next).toContain('aws elbv2 describe-target-health');
    expect(verdict({ ...healthyFacts(), targetHealth: { ok: [] } }, 'target-health')).toMatchObject({ status: 'FAIL', next: expect.stringContaining('targetgroupbinding') });
  });

  test('the edge: a refused token, a 502 and a refused WebSocket upgrade each FAIL with their cause', () => {
    const edge = (request: number, ws: { opened: boolean; status?: number }, tokenGiven = true) =>
      ({ ...healthyFacts(), edge: { ok: { url: 'https://d/', tokenGiven, request: { ok: { status: request } }, webSocket: { ok: ws } } } });
    expect(verdict(edge(401, { opened: false, status: 401 }), 'edge-request').next).toContain('comfyctl users add');
    expect(verdict(edge(401, { opened: false, status: 401 }, false), 'edge-request').next).toContain('set COMFYUI_TOKEN');
    expect(verdict(edge(502, { opened: true }), 'edge-request').next).toContain('target-health');
    expect(verdict(edge(200, { opened: false, status: 400 }), 'edge-websocket')).toMatchObject({ status: 'FAIL', next: expect.stringContaining('Upgrade') });
    expect(verdict(edge(200, { opened: true }, false), 'edge-request').status).toBe('WARN');
  });

  test('outputs only readable WARNs and says HeadBucket; a DLQ with messages and a failed sync FAIL', () => {
    const headOnly = verdict({ ...healthyFacts(), outputsWrite: { ok: { bucket: 'outputs', mode: 'head-bucket', writeRefused: 'AccessDenied' } } }, 'outputs-bucket');
    expect(headOnly).toMatchObject({ status: 'WARN', detail: expect.stringContaining('HeadBucket') });
    const dlq = verdict({ ...healthyFacts(), deadLetters: { ok: { queueUrl: 'https://sqs/dlq', messages: 3 } } }, 'sync-dlq');
    expect(dlq).toMatchObject({ status: 'FAIL', detail: expect.stringContaining('3 bucket changes'), next: expect.stringContaining('start-message-move-task') });
    const failures = verdict({ ...healthyFacts(), syncStatuses: { ok: [{ instanceId: 'i-0gone', result: 'Failed', ssmStatus: 'TimedOut', commandId: 'c-9' }] } }, 'sync-failures');
    expect(failures).toMatchObject({ status: 'FAIL', detail: expect.stringContaining('i-0gone TimedOut (c-9)') });
    const halfRead = verdict({ ...healthyFacts(), syncSourceUnread: 'SSM commands of ComfyUI-SyncModels: access denied' }, 'sync-failures');
    expect(halfRead).toMatchObject({ status: 'WARN', detail: expect.stringContaining('one source not read: SSM commands') });
  });
});
