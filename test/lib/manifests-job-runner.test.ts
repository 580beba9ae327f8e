import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { beforeAll, describe, expect, test } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../../lib/config';
import { JOB_RUNNER_HEALTH_PORT, JOB_RUNNER_MANIFEST, JOB_RUNNER_SCALING, manifestsLeftOut } from '../../lib/manifests/job-runner-values';
import { manifestValues } from '../../lib/manifests/manifest-values';
import { renderManifests } from '../../lib/manifests/render-manifests';
import {
  exampleJobsStackValues,
  exampleStackValues,
  JOBS_STACK_VALUE_SOURCES,
  jobsStackValuesFromOutputs,
} from '../../lib/manifests/stack-values';
import {
  COMFYUI_NAMESPACE,
  COMFYUI_PORT,
  COMFYUI_PROMETHEUS_METRICS,
  COMFYUI_UID,
  GPU_TAINT_KEY,
  JOB_RUNNER_SERVICE_ACCOUNT,
  STACK_NAMES,
  SYSTEM_NODE_LABEL,
} from '../../lib/names';
import { findDocument, renderedBase } from '../helpers/rendered-manifests';

const REPO = path.join(__dirname, '..', '..');
const fixture = () => JSON.parse(fs.readFileSync(path.join(REPO, 'test', 'fixtures', 'cdk-outputs.json'), 'utf8'));
const tempOut = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'job-runner-render-')), 'manifests');

describe('the job runner as rendered from the stack outputs', () => {
  let docs: any[];
  let pod: any;
  let container: any;
  const env = (name: string) => container.env.find((e: any) => e.name === name);
  beforeAll(() => {
    docs = renderedBase();
    pod = findDocument(docs, 'Deployment', 'job-runner').spec.template.spec;
    [container] = pod.containers;
  });

  test('runs `python3 -m job_runner` from its own image: the ECR repository, the job-runner- prefix and the ComfyUI tag', () => {
    expect(pod.containers).toHaveLength(1);
    expect(container.image).toBe(`${fixture().ComfyuiEcrRepo.EcrRepositoryUri}:job-runner-0.1.0`);
    expect(container.command).toEqual(['python3', '-m', 'job_runner']);
  });

  test("its environment holds the jobs stack's queue and table, the outputs bucket and the region from the outputs file", () => {
    const outputs = fixture();
    expect(env('JOBS_QUEUE_URL').value).toBe(outputs[STACK_NAMES.jobs].JobsQueueUrl);
    expect(env('JOBS_TABLE_NAME').value).toBe(outputs[STACK_NAMES.jobs].JobsTableName);
    expect(env('OUTPUTS_BUCKET_NAME').value).toBe(outputs.S3OutputsStorage.OutputsBucketName);
    expect(env('AWS_REGION').value).toBe(outputs['Comfyui-Cluster'].Region);
    expect(env('RUNNER_NAME').valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.name' } });
  });

  test('it looks for the ComfyUI pods by their own label, in their namespace, on their port', () => {
    expect(env('COMFYUI_NAMESPACE').value).toBe(COMFYUI_NAMESPACE);
    expect(env('COMFYUI_POD_PORT').value).toBe(String(COMFYUI_PORT));
    const [key, value] = env('COMFYUI_POD_SELECTOR').value.split('=');
    const comfyui = findDocument(docs, 'Deployment', 'comfyui');
    expect(comfyui.spec.template.metadata.labels[key]).toBe(value);
    expect(comfyui.spec.selector.matchLabels).toEqual({ [key]: value });
  });

  test('its probes call the port it serves /healthz on: liveness asks /healthz, readiness that the port answers', () => {
    expect(env('HEALTH_PORT').value).toBe(String(JOB_RUNNER_HEALTH_PORT));
    const port = container.ports.find((p: any) => p.containerPort === JOB_RUNNER_HEALTH_PORT);
    expect(port.name).toBeTruthy();
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: port.name });
    expect(container.readinessProbe.tcpSocket).toEqual({ port: port.name });
    // A stuck loop answers 503 after 60 s at the earliest (job_runner/health.py): liveness waits longer than a blip.
    expect(container.livenessProbe.periodSeconds * container.livenessProbe.failureThreshold).toBeGreaterThanOrEqual(60);
  });

  test('it meets Pod Security restricted: non-root, read-only root, no privilege escalation, no capabilities, RuntimeDefault', () => {
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: COMFYUI_UID, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    const tmp = container.volumeMounts.find((m: any) => m.mountPath === '/tmp');
    expect(pod.volumes.find((v: any) => v.name === tmp.name).emptyDir).toBeDefined();
    expect(pod.volumes.every((v: any) => v.hostPath === undefined)).toBe(true);
  });

  test('it runs on the system nodes as the service account its Pod Identity association names, and stops within 30 s', () => {
    expect(pod.nodeSelector).toEqual({ [SYSTEM_NODE_LABEL.key]: SYSTEM_NODE_LABEL.value });
    expect(JSON.stringify(pod.tolerations ?? [])).not.toContain(GPU_TAINT_KEY);
    expect(pod.serviceAccountName).toBe(JOB_RUNNER_SERVICE_ACCOUNT);
    expect(pod.automountServiceAccountToken).toBe(true);
    expect(pod.terminationGracePeriodSeconds).toBe(30);
    expect(container.resources.limits).toMatchObject({ cpu: '1', memory: '512Mi' });
  });

  test('its Role reads and patches pods and nothing else, and is bound to its service account only', () => {
    const role = findDocument(docs, 'Role', JOB_RUNNER_SERVICE_ACCOUNT);
    expect(role.rules).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['patch'] },
    ]);
    const binding = findDocument(docs, 'RoleBinding', JOB_RUNNER_SERVICE_ACCOUNT);
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: JOB_RUNNER_SERVICE_ACCOUNT, namespace: COMFYUI_NAMESPACE }]);
    expect(findDocument(docs, 'ServiceAccount', JOB_RUNNER_SERVICE_ACCOUNT)).toBeDefined();
  });

  test('its patch is narrowed by an admission policy bound to it, matching its service account alone', () => {
    const name = `${JOB_RUNNER_SERVICE_ACCOUNT}-pod-deletion-cost`;
    const policy = findDocument(docs, 'ValidatingAdmissionPolicy', name);
    expect(policy.spec.failurePolicy).toBe('Fail');
    expect(policy.spec.matchConditions).toEqual([{ name: 'the-job-runner-only',
      expression: `request.userInfo.username == 'system:serviceaccount:${COMFYUI_NAMESPACE}:${JOB_RUNNER_SERVICE_ACCOUNT}'` }]);
    expect(policy.spec.matchConstraints.resourceRules).toEqual([{ apiGroups: [''], apiVersions: ['v1'],
      operations: ['CREATE', 'UPDATE', 'DELETE'], resources: ['pods', 'pods/*'] }]);
    const binding = findDocument(docs, 'ValidatingAdmissionPolicyBinding', name);
    expect(binding.spec).toEqual({ policyName: name, validationActions: ['Deny'] });
  });

  test('its session window is config sessionActivityMinutes in seconds', () => {
    expect(env('SESSION_ACTIVITY_SECONDS').value).toBe(String(loadConfig(() => undefined).sessionActivityMinutes * 60));
    const config = loadConfig((key) => (key === 'sessionActivityMinutes' ? 7 : undefined));
    expect(manifestValues(exampleStackValues(config), config, '0.1.0', exampleJobsStackValues(config)).sessionActivitySeconds).toBe(420);
  });

  test("the scaling path, field, port and session series are the runner's and the pods' own (one source each)", () => {
    const read = (file: string) => fs.readFileSync(path.join(REPO, 'comfyui_image', file), 'utf8');
    expect(read('job_runner/health.py')).toContain(`add_get("${JOB_RUNNER_SCALING.path}"`);
    expect(read('job_runner/scaling.py')).toContain(`{"${JOB_RUNNER_SCALING.valueLocation}": demand(`);
    expect(read('job_runner/settings.py')).toContain(`health_port: int = ${JOB_RUNNER_HEALTH_PORT}`);
    expect(read('job_runner/scaling.py')).toContain(`SESSIONS_SERIES = "${COMFYUI_PROMETHEUS_METRICS.recentSessions}"`);
    expect(read('multigpu/core/sessions.py')).toContain(`RECENT_SESSIONS = "${COMFYUI_PROMETHEUS_METRICS.recentSessions}"`);
  });

  test('its replica count is config jobRunnerReplicas', () => {
    expect(findDocument(docs, 'Deployment', 'job-runner').spec.replicas).toBe(loadConfig(() => undefined).jobRunnerReplicas);
    const config = loadConfig((key) => (key === 'jobRunnerReplicas' ? 2 : undefined));
    const values = manifestValues(exampleStackValues(config), config, '0.1.0', exampleJobsStackValues(config));
    expect(values.jobRunnerReplicas).toBe(2);
  });
});

describe('the jobs stack values', () => {
  test("are read from the jobs stack's outputs, each failing by name when missing or malformed", () => {
    expect(jobsStackValuesFromOutputs(fixture(), 'out.json').jobsTableName).toBe(fixture()[STACK_NAMES.jobs].JobsTableName);
    for (const source of Object.values(JOBS_STACK_VALUE_SOURCES)) {
      const doc = fixture();
      delete doc[source.stack][source.output];
      expect(() => jobsStackValuesFromOutputs(doc, 'out.json')).toThrow(`out.json: ${source.stack}.${source.output} is missing`);
      expect(() => jobsStackValuesFromOutputs(doc, 'out.json')).toThrow(/or set the config key jobs to false/);
    }
    const doc = fixture();
    doc[STACK_NAMES.jobs].JobsQueueUrl = 'arn:aws:sqs:eu-west-1:210987654321:jobs';
    expect(() => jobsStackValuesFromOutputs(doc, 'out.json')).toThrow(`${STACK_NAMES.jobs}.JobsQueueUrl must be an SQS queue URL`);
  });

  test('example values pass the same checks as real outputs', () => {
    const config = loadConfig(() => undefined);
    const example = exampleJobsStackValues(config);
    const asOutputs: Record<string, Record<string, string>> = {};
    for (const [key, source] of Object.entries(JOBS_STACK_VALUE_SOURCES)) {
      (asOutputs[source.stack] ??= {})[source.output] = example[key as keyof typeof example];
    }
    expect(jobsStackValuesFromOutputs(asOutputs, 'example')).toEqual(example);
  });

  test('with config jobs on they are required; with jobs off the runner renders to a comment and the rest renders whole', () => {
    const on = loadConfig(() => undefined);
    expect(() => manifestValues(exampleStackValues(on), on, '0.1.0')).toThrow(/jobs stack values are missing/);
    expect(manifestsLeftOut(on)).toEqual({});

    const off = loadConfig((key) => (key === 'jobs' ? false : undefined));
    const out = tempOut();
    renderManifests({ values: manifestValues(exampleStackValues(off), off, '0.1.0'), outDir: out, leftOut: manifestsLeftOut(off) });
    const runner = fs.readFileSync(path.join(out, JOB_RUNNER_MANIFEST), 'utf8');
    expect(runner).toMatch(/^# .*left out.*config `jobs` is false/);
    expect(parseAllDocuments(runner).map((d) => d.toJS()).filter(Boolean)).toEqual([]);
    // Still listed by the kustomization, which kustomize builds without its objects.
    expect(fs.readFileSync(path.join(out, 'base', 'kustomization.yaml'), 'utf8')).toContain('- job-runner.yaml');
    const kustomize = path.join(REPO, 'build', 'tools', 'bin', 'kustomize');
    if (!fs.existsSync(kustomize)) throw new Error(`${kustomize} is missing: run \`bash scripts/manifest-tools.sh\` (npm test does)`);
    const built = spawnSync(kustomize, ['build', path.join(out, 'single-gpu')], { encoding: 'utf8' });
    expect(built.status, built.stderr).toBe(0);
    const names = parseAllDocuments(built.stdout).map((d) => `${d.get('kind')}/${(d.toJS() as any).metadata.name}`);
    expect(names).toContain('Deployment/comfyui');
    expect(names.filter((n) => /job-runner/.test(n))).toEqual(['NetworkPolicy/job-runner']);
  });

  test('leaving out a file that does not exist fails, naming it', () => {
    const config = loadConfig(() => undefined);
    const values = manifestValues(exampleStackValues(config), config, '0.1.0', exampleJobsStackValues(config));
    expect(() => renderManifests({ values, outDir: tempOut(), leftOut: { 'base/no-such.yaml': 'x' } })).toThrow(/base\/no-such\.yaml/);
  });
});
