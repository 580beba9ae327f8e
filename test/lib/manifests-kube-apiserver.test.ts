import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../../lib/config';
import { manifestValues } from '../../lib/manifests/manifest-values';
import { OVERLAYS, renderManifests } from '../../lib/manifests/render-manifests';
import { jobsStackValuesFromOutputs, stackValuesFromOutputs } from '../../lib/manifests/stack-values';
import { COMFYUI_NAMESPACE, COMFYUI_SERVICE_ACCOUNT, GPU_NODE_POOLS, MODELS_READY_TAINT_KEY, OUTPUTS_KEY_PREFIX } from '../../lib/names';
import { COMFYUI_IMAGE_TAG, DEFAULT_KUBERNETES_VERSION } from '../../lib/versions';
import { KubeControlPlane, startKubeControlPlane, waitFor } from '../helpers/kube-control-plane';
import { fixtureManifestValues } from '../helpers/rendered-manifests';

/**
 * Both overlays, rendered from the fixture stack outputs and built with kustomize, applied with
 * `kubectl apply --server-side` to a real kube-apiserver 1.35 with Karpenter's, the Load Balancer
 * Controller's and KEDA's published CRDs: OpenAPI schemas, CEL rules, defaulting, RBAC, and Pod Security Admission
 * run as on EKS. kubeconform (scripts/validate-manifests.sh) stays the fast schema check; this one sees what only the
 * server knows. What it cannot see: the controllers themselves (Karpenter, the LBC webhooks, KEDA, the kubelet).
 */
const REPO = path.join(__dirname, '..', '..');
const TOOLS = path.join(REPO, 'build', 'tools');
const [SINGLE_POOL, MULTI_POOL] = GPU_NODE_POOLS;
const FIELD_MANAGER = 'comfyui-apiserver-test';

function buildOverlays(values = fixtureManifestValues(COMFYUI_IMAGE_TAG)): Record<(typeof OVERLAYS)[number], string> {
  const kustomize = path.join(TOOLS, 'bin', 'kustomize');
  if (!fs.existsSync(kustomize)) throw new Error(`${kustomize} is missing: run \`bash scripts/manifest-tools.sh\` (npm test does)`);
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

/** The JSON patch model_gate.py sends for a node, built by its own taint_removal_patch. */
function gatePatch(node: object): unknown[] {
  const script = [
    'import json, sys',
    `sys.path.insert(0, ${JSON.stringify(path.join(REPO, 'manifests', 'base', 'pod-scripts'))})`,
    'import model_gate',
    `print(json.dumps(model_gate.taint_removal_patch(json.load(sys.stdin), ${JSON.stringify(MODELS_READY_TAINT_KEY)})))`,
  ].join('\n');
  const run = spawnSync('python3', ['-c', script], { input: JSON.stringify(node), encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`model_gate.taint_removal_patch failed: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

/**
 * Calls the API server as model_gate.py does (its KubernetesApi, failure_event and delete_node), with a token:
 * `action` is 'event <node>' (a Warning Event about that node) or 'delete <node>' (with the node's uid as a
 * precondition). Returns the HTTP status and the server's message.
 */
function gateCall(kube: KubeControlPlane, token: string, action: string): { status: number; message: string } {
  const server = /server: (\S+)/.exec(fs.readFileSync(kube.kubeconfig, 'utf8'))![1];
  const tokenFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gate-token-')), 'token');
  fs.writeFileSync(tokenFile, token);
  const script = [
    'import json, ssl, sys, urllib.error',
    `sys.path.insert(0, ${JSON.stringify(path.join(REPO, 'manifests', 'base', 'pod-scripts'))})`,
    'import model_gate',
    'server, token_file, verb, name = sys.argv[1:]',
    'api = model_gate.KubernetesApi(server, token_file, None)',
    'api.context = ssl._create_unverified_context()  # the test server\'s certificate is self-signed',
    'try:',
    '    node = api.get_node(name)',
    '    if verb == "event":',
    '        api.create_event(model_gate.failure_event(node, "ModelSyncFailed", "no models"))',
    '    else:',
    '        api.delete_node(name, node["metadata"]["uid"])',
    '    print(json.dumps({"status": 200, "message": ""}))',
    'except urllib.error.HTTPError as error:',
    '    print(json.dumps({"status": error.code, "message": json.load(error).get("message", "")}))',
  ].join('\n');
  const [verb, name] = action.split(' ');
  const run = spawnSync('python3', ['-c', script, server, tokenFile, verb, name], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`model_gate call failed: ${run.stderr}`);
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

/** The documents of `kind` in a built overlay. */
const documentsOf = (yaml: string, kind: string): any[] => parseAllDocuments(yaml).map((d) => d.toJS()).filter((d) => d?.kind === kind);

describe('the rendered overlays on a real kube-apiserver with the Karpenter, LBC and KEDA CRDs', () => {
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

  test("KEDA's ScaledObject and TriggerAuthentication are accepted as rendered, triggers and HPA behavior intact", () => {
    const rendered = documentsOf(overlays['single-gpu'], 'ScaledObject')[0];
    const stored = getJson(kube, ['scaledobject', 'comfyui', '-n', COMFYUI_NAMESPACE]);
    expect(stored.spec.triggers.map((t: any) => t.name)).toEqual(['jobs', 'wake', 'interactive']);
    expect(stored.spec.triggers).toEqual(rendered.spec.triggers);
    expect(stored.spec.advanced).toEqual(rendered.spec.advanced);
    expect(stored.spec.scaleTargetRef.name).toBe('comfyui');
    const auth = getJson(kube, ['triggerauthentication', 'keda-aws', '-n', COMFYUI_NAMESPACE]);
    expect(auth.spec.podIdentity).toEqual({ provider: 'aws' });
  });

  test("KEDA's CRDs refuse what KEDA would: an unknown pod identity provider, a stabilization window over an hour", () => {
    const [auth] = documentsOf(overlays['single-gpu'], 'TriggerAuthentication');
    const wrongProvider = { ...auth, spec: { podIdentity: { provider: 'aws-foo' } } };
    const refused = kube.kubectl(['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '--dry-run=server', '-f', '-'], JSON.stringify(wrongProvider));
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/spec\.podIdentity\.provider: Unsupported value: "aws-foo"/);
    // The CRDs carry KEDA's kustomization patch (0..3600), the bound config scaleDownStabilizationMinutes keeps to.
    const [so] = documentsOf(overlays['single-gpu'], 'ScaledObject');
    const longWindow = structuredClone(so);
    longWindow.spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds = 3601;
    const tooLong = kube.kubectl(['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '--dry-run=server', '-f', '-'], JSON.stringify(longWindow));
    expect(tooLong.status).not.toBe(0);
    expect(tooLong.stderr).toMatch(/stabilizationWindowSeconds: Invalid value: 3601: .*less than or equal to 3600/);
  });

  test('a warm schedule renders a cron trigger the ScaledObject CRD accepts', () => {
    const config = loadConfig((key) => ({ warmScheduleTimezone: 'America/Los_Angeles', warmScheduleStart: '30 8 * * MON-FRI',
      warmScheduleEnd: '0 18 * * MON-FRI', warmReplicas: 2 } as Record<string, unknown>)[key]);
    const outputs = JSON.parse(fs.readFileSync(path.join(REPO, 'test', 'fixtures', 'cdk-outputs.json'), 'utf8'));
    const values = manifestValues(stackValuesFromOutputs(outputs, 'cdk-outputs.json'), config, COMFYUI_IMAGE_TAG,
      jobsStackValuesFromOutputs(outputs, 'cdk-outputs.json'));
    const [so] = documentsOf(buildOverlays(values)['multi-gpu'], 'ScaledObject');
    const run = kube.kubectl(['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '--dry-run=server', '-o', 'json', '-f', '-'], JSON.stringify(so));
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).spec.triggers.find((t: any) => t.name === 'warm')).toEqual({
      type: 'cron', name: 'warm',
      metadata: { timezone: 'America/Los_Angeles', start: '30 8 * * MON-FRI', end: '0 18 * * MON-FRI', desiredReplicas: '2' },
    });
  });

  test("the server keeps what isolates each pod's outputs: pod-level credentials, the mounted prefix, one ComfyUI per node", () => {
    const pv = getJson(kube, ['pv', `comfyui-outputs-${COMFYUI_NAMESPACE}`]);
    expect(pv.spec.csi.volumeAttributes.authenticationSource).toBe('pod');
    expect(pv.spec.mountOptions).toContain(`prefix ${OUTPUTS_KEY_PREFIX}`);
    const pod = getJson(kube, ['deployment', 'comfyui', '-n', COMFYUI_NAMESPACE]).spec.template;
    expect(pod.spec.serviceAccountName).toBe(COMFYUI_SERVICE_ACCOUNT);
    expect(pod.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey).toBe('kubernetes.io/hostname');
    const containers = [...pod.spec.initContainers, ...pod.spec.containers].map((c: any) => c.name).sort();
    expect(pod.metadata.annotations['eks.amazonaws.com/skip-containers'].split(',').sort()).toEqual(containers);
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

  test("the model gate's token may lift its own node's startup taint and nothing else (ValidatingAdmissionPolicy)", async () => {
    const system = kube.kubectl(['create', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'system-node-1' } }));
    expect(system.status, system.stderr).toBe(0);
    const template = getJson(kube, ['nodepool', SINGLE_POOL]);
    const other: any = karpenterNode(template, 'gpu-node-2', 1);
    expect(kube.kubectl(['create', '-f', '-'], JSON.stringify(other)).status).toBe(0);
    expect(kube.kubectl(['patch', 'node', 'gpu-node-2', '--type=merge', '-p', JSON.stringify({ spec: { taints: other.spec.taints } })]).status).toBe(0);

    // The gate's pod on gpu-node-1 (bound there as the scheduler would), and a token bound to that pod: the API
    // server puts the pod's node name into it, as the kubelet's projected token has it.
    const gate = (getJson(kube, ['pods', '-n', COMFYUI_NAMESPACE]).items as any[]).find((p) => p.metadata.name.startsWith('model-gate-'));
    const binding = { apiVersion: 'v1', kind: 'Binding', metadata: { name: gate.metadata.name, namespace: COMFYUI_NAMESPACE }, target: { apiVersion: 'v1', kind: 'Node', name: 'gpu-node-1' } };
    const bound = kube.kubectl(['create', '-f', '-'], JSON.stringify(binding));
    expect(bound.status, bound.stderr).toBe(0);
    const tokenRun = kube.kubectl(['create', 'token', 'model-gate', '-n', COMFYUI_NAMESPACE, '--bound-object-kind', 'Pod',
      '--bound-object-name', gate.metadata.name, '--bound-object-uid', gate.metadata.uid]);
    expect(tokenRun.status, tokenRun.stderr).toBe(0);
    const asGate = (args: string[], input?: string) => kube.kubectl(['--token', tokenRun.stdout.trim(), ...args], input);
    // RBAC alone lets the gate patch any node: what follows is refused by the policy, not by RBAC.
    expect(asGate(['auth', 'can-i', 'patch', 'nodes']).stdout.trim()).toBe('yes');

    // Refused by the policy, and by the rule meant for the case (not by an expression that failed to evaluate).
    const OWN_NODE = 'the model gate may only change the node its own pod runs on';
    const ONLY_STARTUP_TAINT = `the model gate may only remove the ${MODELS_READY_TAINT_KEY} taint`;
    const NOTHING_ELSE = "the model gate may not change a node's labels, annotations or schedulability";
    const refusedByPolicy = (run: ReturnType<typeof asGate>, rule: string) =>
      run.status !== 0 && run.stderr.includes("ValidatingAdmissionPolicy 'comfyui-model-gate'") && run.stderr.includes(rule)
      && !run.stderr.includes('resulted in error');
    const taintSystemNode = () => asGate(['patch', 'node', 'system-node-1', '--type=merge', '-p',
      JSON.stringify({ spec: { taints: [{ key: 'x', value: 'y', effect: 'NoExecute' }] } })]);
    // The policy is enforced once the API server has loaded it; the first refusal says so.
    await waitFor('the model-gate policy', 60_000, undefined, () => refusedByPolicy(taintSystemNode(), OWN_NODE));
    const gpuTaint = other.spec.taints.findIndex((t: any) => t.key !== MODELS_READY_TAINT_KEY);
    const attempts: [string, string[], string][] = [
      ['cordon its own node', ['patch', 'node', 'gpu-node-1', '--type=merge', '-p', '{"spec":{"unschedulable":true}}'], NOTHING_ELSE],
      ['relabel its own node', ['label', 'node', 'gpu-node-1', 'comfyui/owned=yes'], NOTHING_ELSE],
      ['clear its own GPU taint', ['patch', 'node', 'gpu-node-1', '--type=json', '-p', JSON.stringify([{ op: 'remove', path: `/spec/taints/${gpuTaint}` }])], ONLY_STARTUP_TAINT],
      ["lift another node's startup taint", ['patch', 'node', 'gpu-node-2', '--type=json', '-p', JSON.stringify(gatePatch(getJson(kube, ['node', 'gpu-node-2'])))], OWN_NODE],
    ];
    for (const [what, args, rule] of attempts) {
      const run = asGate(args);
      expect(refusedByPolicy(run, rule), `${what}: ${run.stderr}`).toBe(true);
    }
    // Creating nodes is not in the gate's ClusterRole at all; deleting is, for the policy to narrow.
    expect(asGate(['create', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'x' } })).stderr)
      .toMatch(/cannot create resource "nodes"/);
    const ONLY_WHILE_WAITING = `the model gate may delete its node only while the node still waits for its models (${MODELS_READY_TAINT_KEY})`;
    const token = tokenRun.stdout.trim();
    const refusedCall = (call: { status: number; message: string }, rule: string) =>
      [403, 422].includes(call.status) && call.message.includes(rule) && !call.message.includes('resulted in error');
    for (const name of ['system-node-1', 'gpu-node-2']) {
      const call = gateCall(kube, token, `delete ${name}`);
      expect(refusedCall(call, OWN_NODE), `delete ${name}: ${JSON.stringify(call)}`).toBe(true);
    }
    // Events (model_gate.py's failure_event): about its own node, and no other.
    let lastEvent = { status: 0, message: '' };
    await waitFor('the events policy', 60_000, undefined, () => refusedCall(lastEvent = gateCall(kube, token, 'event gpu-node-2'),
      'the model gate may only report about the node its own pod runs on'))
      .catch((error) => { throw new Error(`${(error as Error).message}: ${JSON.stringify(lastEvent)}`); });
    expect(gateCall(kube, token, 'event gpu-node-1').status).toBe(200);
    const events = getJson(kube, ['events', '-n', 'default', '--field-selector', 'involvedObject.name=gpu-node-1,reason=ModelSyncFailed']).items;
    expect(events.map((e: any) => [e.type, e.involvedObject.kind, e.message])).toEqual([['Warning', 'Node', 'no models']]);

    // The gate's own patch (model_gate.py's taint_removal_patch), on its own node: allowed, and only that taint goes.
    const lifted = asGate(['patch', 'node', 'gpu-node-1', '--type=json', '-p', JSON.stringify(gatePatch(getJson(kube, ['node', 'gpu-node-1'])))]);
    expect(lifted.status, lifted.stderr).toBe(0);
    const taints = getJson(kube, ['node', 'gpu-node-1']).spec.taints.map((t: any) => t.key);
    expect(taints).not.toContain(MODELS_READY_TAINT_KEY);
    expect(taints.length).toBe(other.spec.taints.length - 1);

    // A node that serves (its startup taint gone) is never the gate's to delete; one that still waits is.
    expect(refusedCall(gateCall(kube, token, 'delete gpu-node-1'), ONLY_WHILE_WAITING)).toBe(true);
    const retainted = kube.kubectl(['patch', 'node', 'gpu-node-1', '--type=merge', '-p', JSON.stringify({ spec: { taints: other.spec.taints } })]);
    expect(retainted.status, retainted.stderr).toBe(0);
    expect(gateCall(kube, token, 'delete gpu-node-1')).toEqual({ status: 200, message: '' });
    expect(kube.kubectl(['get', 'node', 'gpu-node-1']).stderr).toMatch(/not found/);
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

  test("a count KEDA writes through the scale subresource survives a re-apply of the render, which has no replicas", () => {
    for (const overlay of OVERLAYS) {
      expect(documentsOf(overlays[overlay], 'Deployment').find((d) => d.metadata.name === 'comfyui').spec, overlay).not.toHaveProperty('replicas');
    }
    const applied = () => getJson(kube, ['deployment', 'comfyui', '-n', COMFYUI_NAMESPACE]);
    const replicasOwners = () => (applied().metadata.managedFields as any[])
      .filter((f) => f.fieldsV1?.['f:spec']?.['f:replicas'] !== undefined).map((f) => f.manager);
    // The render never claimed the field: the Deployment was created with the API server's default of 1.
    expect(replicasOwners()).toEqual([]);
    // As KEDA's scale executor does: a PUT of the Scale (scale client Update) on deployments/scale, here under the
    // manager name the operator's requests carry.
    const scalePath = `/apis/apps/v1/namespaces/${COMFYUI_NAMESPACE}/deployments/comfyui/scale`;
    const scale = JSON.parse(kube.kubectl(['get', '--raw', scalePath]).stdout);
    const written = kube.kubectl(['replace', '--raw', `${scalePath}?fieldManager=keda-operator`, '-f', '-'],
      JSON.stringify({ ...scale, spec: { replicas: 3 } }));
    expect(written.status, written.stderr).toBe(0);
    expect(applied().spec.replicas).toBe(3);
    apply(kube, overlays['multi-gpu']);
    expect(applied().spec.replicas).toBe(3);
    // Still nobody's: the server does not track an update of a field no manager held (kube-apiserver's
    // ProbabilisticSkipNonAppliedManager, seen through the Scale view), so no apply conflicts with KEDA over it.
    expect(replicasOwners()).toEqual([]);
  });
});
