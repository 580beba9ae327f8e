import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../../lib/config';
import { manifestValues } from '../../lib/manifests/manifest-values';
import { OVERLAYS, renderManifests } from '../../lib/manifests/render-manifests';
import { stackValuesFromOutputs } from '../../lib/manifests/stack-values';
import { COMFYUI_NAMESPACE, GPU_NODE_POOLS } from '../../lib/names';
import { COMFYUI_IMAGE_TAG, DEFAULT_KUBERNETES_VERSION } from '../../lib/versions';
import { KubeControlPlane, startKubeControlPlane, waitFor } from '../helpers/kube-control-plane';

/**
 * Both overlays, rendered from the fixture stack outputs and built with kustomize, applied with
 * `kubectl apply --server-side` to a real kube-apiserver 1.35 with Karpenter's and the Load Balancer
 * Controller's published CRDs: OpenAPI schemas, CEL rules, defaulting, RBAC, and Pod Security Admission run as on
 * EKS. kubeconform (scripts/validate-manifests.sh) stays the fast schema check; this one sees what only the
 * server knows. What it cannot see: the controllers themselves (Karpenter, the LBC webhooks, the kubelet).
 */
const REPO = path.join(__dirname, '..', '..');
const TOOLS = path.join(REPO, 'build', 'tools');
const [SINGLE_POOL, MULTI_POOL] = GPU_NODE_POOLS;
const FIELD_MANAGER = 'comfyui-apiserver-test';

function buildOverlays(): Record<(typeof OVERLAYS)[number], string> {
  const kustomize = path.join(TOOLS, 'bin', 'kustomize');
  if (!fs.existsSync(kustomize)) throw new Error(`${kustomize} is missing: run \`bash scripts/manifest-tools.sh\` (npm test does)`);
  const outputs = JSON.parse(fs.readFileSync(path.join(REPO, 'test', 'fixtures', 'cdk-outputs.json'), 'utf8'));
  const values = manifestValues(stackValuesFromOutputs(outputs, 'cdk-outputs.json'), loadConfig(() => undefined), COMFYUI_IMAGE_TAG);
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'apiserver-manifests-')), 'rendered');
  renderManifests({ values, outDir: out });
  const built = {} as Record<(typeof OVERLAYS)[number], string>;
  for (const overlay of OVERLAYS) {
    const run = spawnSync(kustomize, ['build', path.join(out, overlay)], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`kustomize build ${overlay} failed: ${run.stderr}`);
    built[overlay] = run.stdout;
  }
  return built;
}

/** `kubectl apply --server-side` of a YAML stream; returns stderr (server warnings) and fails with the server's error. */
function apply(kube: KubeControlPlane, yaml: string, extra: string[] = []): { stdout: string; stderr: string } {
  const run = kube.kubectl(['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '-f', '-', ...extra], yaml);
  if (run.status !== 0) throw new Error(`kubectl apply failed: ${run.stderr}`);
  return { stdout: run.stdout, stderr: run.stderr };
}

function getJson(kube: KubeControlPlane, args: string[]): any {
  const run = kube.kubectl(['get', ...args, '-o', 'json', '--show-managed-fields']);
  if (run.status !== 0) throw new Error(`kubectl get ${args.join(' ')} failed: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

const documentCount = (yaml: string) => yaml.split(/^---$/m).filter((d) => /^kind:/m.test(d)).length;

/** A Node shaped as Karpenter would register it for a NodePool: its template labels, taints and startup taints. */
function karpenterNode(nodePool: any, name: string, gpus: number): object {
  const template = nodePool.spec.template;
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: {
        ...template.metadata?.labels,
        'karpenter.sh/nodepool': nodePool.metadata.name,
        'karpenter.sh/capacity-type': 'spot',
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/os': 'linux',
        'kubernetes.io/hostname': name,
        'node.kubernetes.io/instance-type': gpus === 1 ? 'g5.xlarge' : 'g5.12xlarge',
        'topology.kubernetes.io/zone': 'us-west-2a',
      },
    },
    spec: { taints: [...(template.spec.taints ?? []), ...(template.spec.startupTaints ?? [])] },
  };
}

test('the control plane is the Kubernetes minor the cluster runs', () => {
  const pins = fs.readFileSync(path.join(REPO, 'tools', 'kube-control-plane.txt'), 'utf8');
  const kubernetes = /^kubernetes v(\d+\.\d+)\.\d+$/m.exec(pins)?.[1];
  expect(kubernetes).toBe(DEFAULT_KUBERNETES_VERSION);
});

describe('the rendered overlays on a real kube-apiserver with the Karpenter and LBC CRDs', () => {
  let kube: KubeControlPlane;
  let overlays: ReturnType<typeof buildOverlays>;
  let singleGpuWarnings = '';

  beforeAll(async () => {
    overlays = buildOverlays();
    kube = await startKubeControlPlane();
    const crds = path.join(TOOLS, 'crds');
    if (!fs.existsSync(crds)) throw new Error(`${crds} is missing: run \`bash scripts/manifest-tools.sh\` (npm test does)`);
    const installed = kube.kubectl(['apply', '--server-side', '-f', crds]);
    if (installed.status !== 0) throw new Error(`installing the CRDs failed: ${installed.stderr}`);
    const established = kube.kubectl(['wait', '--for=condition=Established', '--timeout=120s', 'crd', '--all']);
    if (established.status !== 0) throw new Error(`CRDs not established: ${established.stderr}`);
  });
  afterAll(async () => {
    await kube?.stop();
  });

  test('the single-GPU overlay is accepted whole by server-side apply', () => {
    const { stdout, stderr } = apply(kube, overlays['single-gpu']);
    singleGpuWarnings = stderr;
    expect(stdout.trim().split('\n')).toHaveLength(documentCount(overlays['single-gpu']));
    const nodePool = getJson(kube, ['nodepool', SINGLE_POOL]);
    expect(nodePool.metadata.managedFields).toContainEqual(expect.objectContaining({ manager: FIELD_MANAGER, operation: 'Apply' }));
    // Defaulted by the API server, as on EKS: proof the server, not the file, answered.
    const deployment = getJson(kube, ['deployment', 'comfyui', '-n', COMFYUI_NAMESPACE]);
    expect(deployment.spec.template.spec.containers[0].terminationMessagePath).toBe('/dev/termination-log');
  });

  test('Pod Security Admission (restricted, warn) objects only to the read-only hostPath volumes the namespace documents', () => {
    const violations = singleGpuWarnings.split('\n').filter((l) => l.includes('would violate PodSecurity'));
    // The DaemonSet (model gate) and the Deployment (ComfyUI) both read the node's model cache.
    expect(violations.length).toBeGreaterThanOrEqual(2);
    for (const line of violations) {
      const reasons = line.replace(/^.*would violate PodSecurity "restricted:latest": /, '').split(/\), (?=[a-z])/);
      for (const reason of reasons) expect(reason, line).toMatch(/hostPath/);
    }
  });

  test('the controllers turn the Deployment and the model-gate DaemonSet into admitted pods on a Karpenter GPU node', async () => {
    const node: any = karpenterNode(getJson(kube, ['nodepool', SINGLE_POOL]), 'gpu-node-1', 1);
    const created = kube.kubectl(['create', '-f', '-'], JSON.stringify(node));
    expect(created.status, created.stderr).toBe(0);
    // The API server taints every new Node not-ready (TaintNodesByCondition) until a kubelet reports Ready and
    // the node lifecycle controller lifts it; with neither here, the test sets the taints Karpenter's node has.
    const retainted = kube.kubectl(['patch', 'node', 'gpu-node-1', '--type=merge', '-p', JSON.stringify({ spec: { taints: node.spec.taints } })]);
    expect(retainted.status, retainted.stderr).toBe(0);
    const pods = () => getJson(kube, ['pods', '-n', COMFYUI_NAMESPACE]).items as any[];
    const named = (prefix: string) => pods().filter((p) => p.metadata.name.startsWith(prefix));
    // Each pod passed every admission plugin the API server enables by default (ServiceAccount, Priority, PodSecurity...).
    await waitFor('the model-gate and ComfyUI pods', 90_000, undefined, () => named('model-gate-').length > 0 && named('comfyui-').length > 0)
      .catch((error) => {
        // The controllers' events say why (FailedCreate with the admission error, or nothing scheduled).
        throw new Error(`${(error as Error).message}\n${kube.kubectl(['get', 'events,rs,ds', '-n', COMFYUI_NAMESPACE]).stdout}`);
      });
    const [gate] = named('model-gate-');
    // The DaemonSet controller placed it on the tainted node: its tolerations cover the GPU and startup taints.
    expect(JSON.stringify(gate.spec.affinity)).toContain('gpu-node-1');
    const [comfyui] = named('comfyui-');
    expect(comfyui.spec.containers.find((c: any) => c.name === 'comfyui').resources.limits['nvidia.com/gpu']).toBe('1');
    const failed = getJson(kube, ['events', '-n', COMFYUI_NAMESPACE, '--field-selector', 'reason=FailedCreate']).items;
    expect(failed.map((e: any) => e.message)).toEqual([]);
  });

  test('a CEL rule of the EC2NodeClass CRD rejects a broken node class (the server enforces them)', () => {
    const nodeClass = getJson(kube, ['ec2nodeclass', 'comfyui-gpu']);
    const broken = {
      apiVersion: nodeClass.apiVersion,
      kind: nodeClass.kind,
      metadata: { name: 'comfyui-gpu' },
      spec: { ...nodeClass.spec, amiSelectorTerms: [{ alias: nodeClass.spec.amiSelectorTerms[0].alias, name: 'my-ami' }] },
    };
    const run = kube.kubectl(['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '--dry-run=server', '-f', '-'], JSON.stringify(broken));
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/mutually exclusive/);
  });

  test('switching to the multi-GPU overlay as the README says (delete the old NodePool, apply) is accepted', async () => {
    const deleted = kube.kubectl(['delete', 'nodepool', SINGLE_POOL]);
    expect(deleted.status, deleted.stderr).toBe(0);
    const { stdout } = apply(kube, overlays['multi-gpu'], ['--force-conflicts']);
    expect(stdout.trim().split('\n')).toHaveLength(documentCount(overlays['multi-gpu']));
    const deployment = getJson(kube, ['deployment', 'comfyui', '-n', COMFYUI_NAMESPACE]);
    const limits = deployment.spec.template.spec.containers.find((c: any) => c.name === 'comfyui').resources.limits;
    expect(Number(limits['nvidia.com/gpu'])).toBeGreaterThan(1);
    expect(getJson(kube, ['nodepool', MULTI_POOL]).metadata.name).toBe(MULTI_POOL);
  });
});
