import * as path from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { EXIT } from '../../lib/cli/cli-error';
import { GPU_NODE_POOLS, MODELS_READY_TAINT_KEY, STACK_NAMES } from '../../lib/names';
import { runCaptured } from '../helpers/captured-comfyctl';
import { breakCluster, eksStyleKubeconfig, FAILED_MOUNT, GPU_NODE, SCALER_FAILURE, seedHealthyCluster, STUCK_GPU_NODE } from '../helpers/doctor-cluster';
import { seedDeployment, SYNC_DONE } from '../helpers/doctor-deployment';
import { EdgeProxy, startEdgeProxy } from '../helpers/edge-proxy';
import { KubeControlPlane, kubeControlPlaneBin, startKubeControlPlane } from '../helpers/kube-control-plane';
import { MotoServer, startMotoServer } from '../helpers/moto-server';
import { Simulator, startSimulator } from '../helpers/simulator';

/**
 * comfyctl doctor end to end, offline: a real kube-apiserver seeded as a healthy, then a broken cluster; moto for
 * CloudFormation, ELBv2 target health, S3, SQS, SSM and CloudWatch Logs (one region per deployment); the multi-GPU
 * simulator behind the loopback edge stand-in (token check and WebSocket forwarding, as CloudFront does).
 */
const TOKEN = 'alice.doctor-test-token';
const FAILURE = 'FAILED: the models do not fit: 90.0 GiB to download, 60.0 GiB free';
let moto: MotoServer;
let kube: KubeControlPlane;
let sim: Simulator;
let edge: EdgeProxy;
let healthyOutputs: string;
let brokenOutputs: string;
let kubeconfig: string;

const doctor = (outputs: string, extra: string[]) => runCaptured([
  'doctor', '--outputs', outputs, '--endpoint-url', moto.endpoint,
  '--kubectl', path.join(kubeControlPlaneBin(), 'kubectl'), '--kubeconfig', kubeconfig, ...extra,
]);

/** `STATUS name: detail. Next: ...` lines by check name. */
function linesByCheck(stdout: string): Map<string, string> {
  const lines = stdout.trimEnd().split('\n').filter((l) => /^(PASS|WARN|FAIL) /.test(l));
  return new Map(lines.map((l) => [/^\S+\s+([a-z-]+):/.exec(l)![1], l]));
}

beforeAll(async () => {
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1' });
  [moto, kube, sim] = await Promise.all([startMotoServer(), startKubeControlPlane(), startSimulator({ gpus: 1 })]);
  edge = await startEdgeProxy(sim.url, { token: TOKEN });
  await seedHealthyCluster(kube);
  kubeconfig = eksStyleKubeconfig(kube, 'studio');
  healthyOutputs = await seedDeployment({ endpoint: moto.endpoint, region: 'eu-west-1', cloudFrontUrl: edge.url, syncedNodes: [GPU_NODE.instanceId] });
  brokenOutputs = await seedDeployment({
    endpoint: moto.endpoint, region: 'eu-west-2', cloudFrontUrl: edge.url, syncedNodes: [GPU_NODE.instanceId],
    broken: { failedNodes: [STUCK_GPU_NODE.instanceId], failure: FAILURE },
  });
}, 300_000);

afterAll(async () => {
  await Promise.all([edge?.close(), sim?.stop(), kube?.stop(), moto?.stop()]);
});

describe('comfyctl doctor against the control plane, moto and the simulator', () => {
  test('a healthy deployment: every line PASS or WARN, exit 0, and the write probe leaves nothing in the bucket', async () => {
    const run = await doctor(healthyOutputs, ['--token', TOKEN]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const lines = linesByCheck(run.stdout);
    expect([...lines.keys()]).toHaveLength(19);
    for (const line of lines.values()) expect(line).toMatch(/^(PASS|WARN) /);
    expect(lines.get('stacks')).toMatch(/^PASS/);
    expect(lines.get('kube-access')).toMatch(/^PASS .*as its admin \(context arn:aws:eks:eu-west-1:123456789012:cluster\/studio\)/);
    expect(lines.get('addons')).toContain('(2 nodes, 1 with GPUs)');
    expect(lines.get('node-class')).toContain('ami-0123456789abcdef0');
    expect(lines.get('model-sync')).toContain(`${GPU_NODE.instanceId}: Success`);
    expect(lines.get('model-sync')).toContain(SYNC_DONE);
    expect(lines.get('comfyui-pods')).toContain(`1/1 pods Ready on ${GPU_NODE.name}`);
    expect(lines.get('target-health')).toContain('1/1 targets healthy: 10.40.2.17:8188 healthy');
    expect(lines.get('edge-request')).toMatch(/^PASS .*answered 200 with the token/);
    expect(lines.get('edge-websocket')).toMatch(/^PASS .*upgraded and opened/);
    expect(lines.get('outputs-bucket')).toMatch(/^PASS .*took a put and a delete under doctor\//);
    expect(lines.get('sync-dlq')).toMatch(/^PASS sync-dlq: dead-letter queue empty/);
    expect(lines.get('keda')).toMatch(/^PASS .*ScaledObject comfyui\/comfyui Ready, idle/);
    expect(lines.get('job-runner')).toMatch(/^PASS .*jobs off/);
    expect(lines.get('jobs-dlq')).toMatch(/^PASS .*jobs off/);
    expect(lines.get('edge-stacks')).toMatch(/^PASS .*none configured/);
    expect(lines.get('metrics-agents')).toMatch(/^PASS .*operations off/);
    expect(run.stdout.trimEnd().split('\n').at(-1)).toMatch(/^doctor: \d+ passed, \d+ warned.*, 0 failed$/);
    expect(edge.seen.upgrade.at(-1)).toBe(`Bearer ${TOKEN}`);
    const s3 = new S3Client({ region: 'eu-west-1', endpoint: moto.endpoint, forcePathStyle: true });
    const left = await s3.send(new ListObjectsV2Command({ Bucket: 'comfyui-outputs-eu-west-1', Prefix: 'doctor/' }));
    expect(left.KeyCount ?? 0).toBe(0);
  });

  test('--json gives the same verdicts to scripts', async () => {
    const run = await doctor(healthyOutputs, ['--token', TOKEN, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.passed).toBe(true);
    expect(report.checks.map((c: { status: string }) => c.status)).not.toContain('FAIL');
    expect(report.checks.find((c: { name: string }) => c.name === 'target-health')).toMatchObject({ status: 'PASS' });
  });

  test('a broken deployment: each FAIL fires with its next step, and doctor exits 1', async () => {
    await breakCluster(kube);
    const run = await doctor(brokenOutputs, ['--token', 'alice.wrong-token']);
    expect(run.code, run.stdout + run.stderr).toBe(EXIT.failure);
    const lines = linesByCheck(run.stdout);
    const fails = (name: string) => {
      const line = lines.get(name) ?? '';
      expect(line, name).toMatch(/^FAIL /);
      return line;
    };
    expect(fails('stacks')).toContain(`not deployed: ${STACK_NAMES.cloudFrontEntry}`);
    expect(fails('addons')).toMatch(/DaemonSet kube-system\/s3-csi-node missing.*Next: kubectl -n kube-system describe daemonset s3-csi-node/);
    expect(fails('node-pools')).toContain(`${GPU_NODE_POOLS[0]} not Ready: NodeClassReady=False (EC2NodeClass not ready)`);
    const sync = fails('model-sync');
    expect(sync).toContain(`${STUCK_GPU_NODE.instanceId}: Failed`);
    expect(sync).toContain(`${FAILURE}); ${MODELS_READY_TAINT_KEY} taint still on`);
    expect(sync).toContain(`${GPU_NODE.instanceId}: Success`);
    expect(sync).toContain('Next: comfyctl models status');
    const pods = fails('comfyui-pods');
    expect(pods).toMatch(/1\/3 pods Ready; /);
    expect(pods).toMatch(/comfyui-\S+ Pending: waits for the node's model sync \(0\/3 nodes are available/);
    expect(pods).toContain(`untolerated taint {${MODELS_READY_TAINT_KEY}: true}`);
    expect(pods).toContain(`Pending: a volume does not mount (${FAILED_MOUNT})`);
    expect(pods).toContain('comfyctl models status; kubectl -n comfyui logs ds/model-gate');
    expect(pods).toContain('kubectl -n kube-system logs ds/s3-csi-node');
    expect(fails('target-health')).toMatch(/0\/1 targets healthy; i-\S+ unused \(Target.InvalidState.*Next: aws elbv2 describe-target-health/);
    expect(fails('edge-request')).toMatch(/answered 401.*Next: the edge refused the token/);
    expect(fails('edge-websocket')).toMatch(/refused: HTTP 401/);
    expect(fails('outputs-bucket')).toContain('comfyui-outputs-eu-west-2');
    expect(fails('sync-dlq')).toMatch(/2 bucket changes in \S+LambdaModelsSync-DeadLetterQueue.*start-message-move-task/);
    expect(fails('sync-failures')).toContain(`${STUCK_GPU_NODE.instanceId} Failed (boot-2): ${FAILURE}`);
    expect(fails('keda')).toContain(`ScaledObject comfyui/comfyui not Ready: ScaledObjectCheckFailed: ${SCALER_FAILURE}`);
    expect(lines.get('kube-access')).toMatch(/^PASS/);
    expect(lines.get('node-class')).toMatch(/^PASS/);
    expect(run.stderr).toContain('comfyctl: 12 checks failed: stacks, addons, node-pools');
  });
});
