import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { renderManifests } from '../../lib/manifests/render-manifests';
import { COMFYUI_NAMESPACE, JOB_RUNNER_SERVICE_ACCOUNT } from '../../lib/names';
import { COMFYUI_IMAGE_TAG } from '../../lib/versions';
import { KubeControlPlane, startKubeControlPlane, waitFor } from '../helpers/kube-control-plane';
import { fixtureManifestValues } from '../helpers/rendered-manifests';

/**
 * The job runner's objects from the single-GPU overlay as kustomize builds it, applied to a real kube-apiserver
 * 1.35 (the control plane manifests-kube-apiserver.test.ts uses): RBAC decides what its service account may do,
 * Pod Security Admission judges its pod, the controllers create that pod. Only the runner's objects, its
 * namespace and the NetworkPolicies go in, so no CRDs are needed and any Pod Security warning is the runner's.
 */
const REPO = path.join(__dirname, '..', '..');
const RUNNER = `system:serviceaccount:${COMFYUI_NAMESPACE}:${JOB_RUNNER_SERVICE_ACCOUNT}`;
const RESTRICTED_NAMESPACE = 'restricted-enforced';
const DELETION_COST_POLICY = `${JOB_RUNNER_SERVICE_ACCOUNT}-pod-deletion-cost`;
const COST = 'controller.kubernetes.io/pod-deletion-cost';

function runnerObjects(): any[] {
  const kustomize = path.join(REPO, 'build', 'tools', 'bin', 'kustomize');
  if (!fs.existsSync(kustomize)) throw new Error(`${kustomize} is missing: run \`bash scripts/manifest-tools.sh\` (npm test does)`);
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'job-runner-apiserver-')), 'rendered');
  renderManifests({ values: fixtureManifestValues(COMFYUI_IMAGE_TAG), outDir: out });
  const built = spawnSync(kustomize, ['build', path.join(out, 'single-gpu')], { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`kustomize build failed: ${built.stderr}`);
  return parseAllDocuments(built.stdout).map((d) => d.toJS())
    .filter((d) => ['Namespace', 'NetworkPolicy'].includes(d.kind) || [JOB_RUNNER_SERVICE_ACCOUNT, 'job-runner'].includes(d.metadata.name)
      || d.metadata.name === DELETION_COST_POLICY);
}

const asList = (items: any[]) => JSON.stringify({ apiVersion: 'v1', kind: 'List', items });

describe("the job runner's objects on a real kube-apiserver", () => {
  let kube: KubeControlPlane;
  let objects: any[];
  let applyWarnings = '';
  /** `kubectl auth can-i` as the runner's service account: true for yes, false for no. */
  const runnerCan = (args: string[]) => {
    const run = kube.kubectl(['auth', 'can-i', ...args, `--as=${RUNNER}`]);
    if (![0, 1].includes(run.status ?? -1)) throw new Error(`kubectl auth can-i ${args.join(' ')} failed: ${run.stderr}`);
    return run.stdout.trim() === 'yes';
  };

  beforeAll(async () => {
    objects = runnerObjects();
    kube = await startKubeControlPlane();
  });
  afterAll(async () => {
    await kube?.stop();
  });

  test('server-side apply takes them whole, without a single Pod Security (restricted) warning', () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(expect.arrayContaining([
      `ServiceAccount/${JOB_RUNNER_SERVICE_ACCOUNT}`, `Role/${JOB_RUNNER_SERVICE_ACCOUNT}`,
      `RoleBinding/${JOB_RUNNER_SERVICE_ACCOUNT}`, 'Deployment/job-runner', 'NetworkPolicy/job-runner',
      `ValidatingAdmissionPolicy/${DELETION_COST_POLICY}`, `ValidatingAdmissionPolicyBinding/${DELETION_COST_POLICY}`,
    ]));
    const run = kube.kubectl(['apply', '--server-side', '--field-manager=job-runner-test', '-f', '-'], asList(objects));
    expect(run.status, run.stderr).toBe(0);
    applyWarnings = run.stderr;
    expect(applyWarnings).not.toMatch(/PodSecurity/);
  });

  test('its pod is admitted in a namespace that enforces restricted, and the same pod with a weakened context is not', () => {
    const namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: RESTRICTED_NAMESPACE, labels: {
      'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'latest' } } };
    const account = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: JOB_RUNNER_SERVICE_ACCOUNT, namespace: RESTRICTED_NAMESPACE } };
    expect(kube.kubectl(['apply', '-f', '-'], asList([namespace, account])).status).toBe(0);
    const template = objects.find((o) => o.kind === 'Deployment').spec.template;
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { ...template.metadata, name: 'runner', namespace: RESTRICTED_NAMESPACE }, spec: template.spec };
    const admitted = kube.kubectl(['create', '--dry-run=server', '-f', '-'], JSON.stringify(pod));
    expect(admitted.status, admitted.stderr).toBe(0);

    const weakened = structuredClone(pod);
    delete weakened.spec.containers[0].securityContext.capabilities;
    const refused = kube.kubectl(['create', '--dry-run=server', '-f', '-'], JSON.stringify(weakened));
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/violates PodSecurity "restricted:latest": unrestricted capabilities/);
  });

  test('the controllers create its pod, with its service account token mounted (it lists pods with it)', async () => {
    const pods = () => (JSON.parse(kube.kubectl(['get', 'pods', '-n', COMFYUI_NAMESPACE, '-o', 'json']).stdout).items as any[])
      .filter((p) => p.metadata.name.startsWith('job-runner-'));
    await waitFor('the job runner pod', 90_000, undefined, () => pods().length > 0).catch((error) => {
      throw new Error(`${(error as Error).message}\n${kube.kubectl(['get', 'events,rs', '-n', COMFYUI_NAMESPACE]).stdout}`);
    });
    const [pod] = pods();
    expect(pod.spec.serviceAccountName).toBe(JOB_RUNNER_SERVICE_ACCOUNT);
    const tokenVolume = pod.spec.volumes.find((v: any) => v.projected?.sources.some((s: any) => s.serviceAccountToken));
    expect(pod.spec.containers[0].volumeMounts.map((m: any) => m.name)).toContain(tokenVolume.name);
  });

  test('RBAC lets its service account read and patch pods in its namespace, and nothing else', async () => {
    // The authorizer sees a new RoleBinding within moments; wait for the first yes rather than race it.
    await waitFor('the RoleBinding', 30_000, undefined, () => runnerCan(['list', 'pods', '-n', COMFYUI_NAMESPACE]));
    for (const verb of ['get', 'list', 'watch', 'patch']) expect(runnerCan([verb, 'pods', '-n', COMFYUI_NAMESPACE]), verb).toBe(true);
    const refused: string[][] = [
      ['list', 'secrets', '-n', COMFYUI_NAMESPACE],
      ['get', 'configmaps', '-n', COMFYUI_NAMESPACE],
      ['list', 'pods', '-n', 'kube-system'],
      ['list', 'pods', '--all-namespaces'],
      ['delete', 'pods', '-n', COMFYUI_NAMESPACE],
      ['update', 'pods', '-n', COMFYUI_NAMESPACE],
      ['patch', 'pods', '-n', 'kube-system'],
      ['patch', 'pods', '--subresource=status', '-n', COMFYUI_NAMESPACE],
      ['create', 'pods', '--subresource=eviction', '-n', COMFYUI_NAMESPACE],
      // Subresources need --subresource: `pods/log` alone would mean the pod named "log".
      ['create', 'pods', '--subresource=exec', '-n', COMFYUI_NAMESPACE],
      ['get', 'pods', '--subresource=log', '-n', COMFYUI_NAMESPACE],
      ['list', 'nodes'],
    ];
    for (const args of refused) expect(runnerCan(args), args.join(' ')).toBe(false);
  });
  test('its admission policy lets it set only the pod-deletion-cost annotation, only on ComfyUI pods', async () => {
    const pod = (name: string, app: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: COMFYUI_NAMESPACE,
      labels: { 'app.kubernetes.io/name': app }, annotations: { 'example.com/kept': 'yes' } },
    spec: { automountServiceAccountToken: false, containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }] } });
    const created = kube.kubectl(['create', '-f', '-'], asList([pod('comfyui-x', 'comfyui'), pod('other-x', 'other')]));
    expect(created.status, created.stderr).toBe(0);
    /** A merge patch as the runner; a dry run unless `real`, so nothing changes while the policy loads. */
    const patch = (name: string, body: object, real = false) => kube.kubectl(['patch', 'pod', name, '-n', COMFYUI_NAMESPACE,
      '--type=merge', '-p', JSON.stringify(body), `--as=${RUNNER}`, ...(real ? [] : ['--dry-run=server'])]);
    const annotate = (annotations: object) => ({ metadata: { annotations } });
    // The API server loads a new policy within moments: wait until a label change is refused.
    await waitFor('the admission policy', 30_000, undefined,
      () => patch('comfyui-x', { metadata: { labels: { 'app.kubernetes.io/name': 'x' } } }).status !== 0);
    const refusals: [string, object, RegExp][] = [
      ['comfyui-x', { metadata: { labels: { 'app.kubernetes.io/name': 'x' } } }, /may not change a pod's labels, spec, owners or finalizers/],
      ['comfyui-x', { metadata: { labels: { extra: 'x' } } }, /may not change a pod's labels/],
      ['comfyui-x', annotate({ 'example.com/other': '1' }), /may only change the controller.kubernetes.io\/pod-deletion-cost annotation/],
      ['comfyui-x', annotate({ 'example.com/kept': null }), /may only change the controller.kubernetes.io\/pod-deletion-cost annotation/],
      ['comfyui-x', { spec: { activeDeadlineSeconds: 60 } }, /may not change a pod's labels, spec/],
      ['other-x', annotate({ [COST]: '1000' }), /may only change ComfyUI pods/],
    ];
    for (const [name, body, message] of refusals) {
      const run = patch(name, body);
      expect(run.status, `${name} ${JSON.stringify(body)} was allowed`).not.toBe(0);
      expect(run.stderr).toMatch(message);
      expect(run.stderr).toMatch(new RegExp(DELETION_COST_POLICY));
    }
    // The value itself is the API server's to check (pod validation), before any admission policy.
    expect(patch('comfyui-x', annotate({ [COST]: 'high' })).stderr).toMatch(/pod-deletion-cost\]: Invalid value: "high": must be a 32bit integer/);
    const allowed = patch('comfyui-x', annotate({ [COST]: '2003' }), true);
    expect(allowed.status, allowed.stderr).toBe(0);
    const again = patch('comfyui-x', annotate({ [COST]: '0' }), true);
    expect(again.status, again.stderr).toBe(0);
    const annotations = JSON.parse(kube.kubectl(['get', 'pod', 'comfyui-x', '-n', COMFYUI_NAMESPACE, '-o', 'json']).stdout).metadata.annotations;
    expect(annotations).toEqual({ 'example.com/kept': 'yes', [COST]: '0' });
    // An administrator (not the runner) is not bound by it.
    expect(kube.kubectl(['label', 'pod', 'other-x', '-n', COMFYUI_NAMESPACE, 'extra=x']).status).toBe(0);
  });
});
