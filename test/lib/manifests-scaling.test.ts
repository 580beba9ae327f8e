import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { beforeAll, describe, expect, test } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { AppConfig, loadConfig } from '../../lib/config';
import { JOB_RUNNER_SCALING, manifestsLeftOut } from '../../lib/manifests/job-runner-values';
import { manifestValues } from '../../lib/manifests/manifest-values';
import { OVERLAYS, renderManifests } from '../../lib/manifests/render-manifests';
import { SCALING_MANIFESTS } from '../../lib/manifests/scaling-manifests';
import { jobRunnerScalingUrl, queueUrlBeside } from '../../lib/manifests/scaling-values';
import { exampleJobsStackValues, exampleStackValues, jobsStackValuesFromOutputs, stackValuesFromOutputs } from '../../lib/manifests/stack-values';
import { COMFYUI_NAMESPACE, JOB_RUNNER_SERVICE_NAME, KEDA_NAMESPACE, KEDA_OPERATOR_NAME, STACK_NAMES, wakeQueueName } from '../../lib/names';
import { scaledObjectSpec } from '../../lib/scaling/scaled-object-spec';
import { findDocument } from '../helpers/rendered-manifests';

/**
 * The scaling objects as rendered and built by kustomize (docs/scaling-design.md section 3): KEDA's ScaledObject
 * and TriggerAuthentication, the runner Service and NetworkPolicy KEDA reads through, and the Deployment's replica
 * field, with autoscaling on and off. The real kube-apiserver test applies the same render with KEDA's CRDs.
 */
const REPO = path.join(__dirname, '..', '..');
const KUSTOMIZE = path.join(REPO, 'build', 'tools', 'bin', 'kustomize');
const fixture = () => JSON.parse(fs.readFileSync(path.join(REPO, 'test', 'fixtures', 'cdk-outputs.json'), 'utf8'));

function configWith(overrides: Record<string, unknown> = {}): AppConfig {
  return loadConfig((key) => overrides[key]);
}

/** Renders from the fixture outputs with `config` and builds both overlays; every document of each, parsed. */
function build(config: AppConfig): Record<(typeof OVERLAYS)[number], any[]> {
  if (!fs.existsSync(KUSTOMIZE)) throw new Error(`${KUSTOMIZE} is missing: run \`bash scripts/manifest-tools.sh\` (npm test does)`);
  const outputs = fixture();
  const jobs = config.jobs ? jobsStackValuesFromOutputs(outputs, 'cdk-outputs.json') : undefined;
  const values = manifestValues(stackValuesFromOutputs(outputs, 'cdk-outputs.json'), config, '0.1.0', jobs);
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'scaling-render-')), 'manifests');
  renderManifests({ values, outDir: out, leftOut: manifestsLeftOut(config) });
  const built = {} as Record<(typeof OVERLAYS)[number], any[]>;
  for (const overlay of OVERLAYS) {
    const run = spawnSync(KUSTOMIZE, ['build', path.join(out, overlay)], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`kustomize build ${overlay} failed: ${run.stderr}`);
    built[overlay] = parseAllDocuments(run.stdout).map((d) => d.toJS()).filter((d) => d?.kind);
  }
  return built;
}

const trigger = (so: any, name: string) => so.spec.triggers.find((t: any) => t.name === name);

describe('with autoscaling on (the default), rendered from the stack outputs', () => {
  const config = configWith();
  let docs: any[];
  let so: any;
  beforeAll(() => {
    docs = build(config)['single-gpu'];
    so = findDocument(docs, 'ScaledObject', 'comfyui');
  });

  test('the ComfyUI Deployment has no replicas field: KEDA and its HPA own the count', () => {
    const deployment = findDocument(docs, 'Deployment', 'comfyui');
    expect(deployment.spec).not.toHaveProperty('replicas');
    expect(so.spec.scaleTargetRef).toEqual({ name: deployment.metadata.name });
    expect(so.metadata.namespace).toBe(deployment.metadata.namespace);
  });

  test('its numbers are the typed config\'s, through the spec the scaling simulation runs on', () => {
    const spec = scaledObjectSpec(config, 1);
    expect(so.spec).toMatchObject({
      pollingInterval: config.scalingPollingSeconds,
      cooldownPeriod: config.scaleToZeroAfterMinutes * 60,
      minReplicaCount: spec.keda.minReplicaCount,
      maxReplicaCount: config.maxComfyuiReplicas,
      fallback: spec.keda.fallback,
    });
    // KEDA's default initialCooldownPeriod (0), as the spec says: a never-active Deployment goes to 0 at the first poll.
    expect(so.spec.initialCooldownPeriod ?? 0).toBe(spec.keda.initialCooldownPeriod);
    const { behavior } = so.spec.advanced.horizontalPodAutoscalerConfig;
    for (const direction of ['scaleUp', 'scaleDown'] as const) {
      const { selectPolicy, ...rules } = spec.hpa[direction];
      expect(behavior[direction]).toEqual(rules);
      expect(behavior[direction].selectPolicy ?? 'Max').toBe(selectPolicy);
    }
    expect(behavior.scaleDown.stabilizationWindowSeconds).toBe(config.scaleDownStabilizationMinutes * 60);
  });

  test('the jobs and wake triggers read the two queues of the outputs\' account and region, with the operator\'s identity', () => {
    const outputs = fixture();
    const jobsUrl = outputs[STACK_NAMES.jobs].JobsQueueUrl;
    const region = outputs['Comfyui-Cluster'].Region;
    const spec = scaledObjectSpec(config, 1);
    expect(so.spec.triggers.map((t: any) => `${t.type}/${t.name}`)).toEqual(['aws-sqs-queue/jobs', 'aws-sqs-queue/wake', 'metrics-api/interactive']);
    expect(trigger(so, 'jobs').metadata).toEqual({
      queueURL: jobsUrl,
      awsRegion: region,
      queueLength: String(spec.triggers.jobs.target),
      activationQueueLength: '0',
      scaleOnInFlight: 'true',
    });
    expect(trigger(so, 'wake').metadata).toEqual({
      queueURL: `https://sqs.${region}.amazonaws.com/210987654321/${wakeQueueName(outputs['Comfyui-Cluster'].ClusterName)}`,
      awsRegion: region,
      queueLength: String(spec.triggers.wake.target),
      activationQueueLength: '0',
      scaleOnInFlight: 'false',
    });
    const auth = findDocument(docs, 'TriggerAuthentication', 'keda-aws');
    expect(auth.spec).toEqual({ podIdentity: { provider: 'aws' } });
    for (const name of ['jobs', 'wake']) expect(trigger(so, name).authenticationRef).toEqual({ name: auth.metadata.name });
  });

  test('the interactive trigger reads `demand` from GET /scaling through the runner Service, which reaches the runner\'s health port', () => {
    expect(trigger(so, 'interactive').metadata).toEqual({
      url: jobRunnerScalingUrl(),
      format: 'json',
      valueLocation: JOB_RUNNER_SCALING.valueLocation,
      targetValue: String(scaledObjectSpec(config, 1).triggers.interactive.target),
      activationTargetValue: '0',
    });
    const url = new URL(trigger(so, 'interactive').metadata.url);
    const service = findDocument(docs, 'Service', JOB_RUNNER_SERVICE_NAME);
    expect(url.hostname).toBe(`${service.metadata.name}.${service.metadata.namespace}.svc.cluster.local`);
    expect(url.pathname).toBe(JOB_RUNNER_SCALING.path);
    const [servicePort] = service.spec.ports;
    expect(Number(url.port)).toBe(servicePort.port);
    const runner = findDocument(docs, 'Deployment', 'job-runner').spec.template;
    expect(runner.metadata.labels).toMatchObject(service.spec.selector);
    const containerPort = runner.spec.containers[0].ports.find((p: any) => p.name === servicePort.targetPort);
    expect(containerPort.containerPort).toBe(servicePort.port);
  });

  test("only KEDA's operator pods, from KEDA's namespace, may reach the runner, and only on that port", () => {
    const policy = findDocument(docs, 'NetworkPolicy', 'job-runner-from-keda');
    const runnerLabels = findDocument(docs, 'Deployment', 'job-runner').spec.template.metadata.labels;
    expect(runnerLabels).toMatchObject(policy.spec.podSelector.matchLabels);
    expect(policy.spec.policyTypes).toEqual(['Ingress']);
    const port = findDocument(docs, 'Service', JOB_RUNNER_SERVICE_NAME).spec.ports[0].port;
    expect(policy.spec.ingress).toEqual([{
      from: [{
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': KEDA_NAMESPACE } },
        podSelector: { matchLabels: { 'app.kubernetes.io/name': KEDA_OPERATOR_NAME } },
      }],
      ports: [{ port, protocol: 'TCP' }],
    }]);
    // No other policy admits anything to the runner.
    const toRunner = docs.filter((d) => d.kind === 'NetworkPolicy' && d.spec.podSelector.matchLabels?.['app.kubernetes.io/name'] === 'job-runner');
    expect(toRunner.flatMap((p) => p.spec.ingress ?? [])).toEqual(policy.spec.ingress);
  });

  test('no warm trigger without a warm schedule', () => {
    expect(trigger(so, 'warm')).toBeUndefined();
  });
});

describe('GPUs per pod: the targets are prompts per pod', () => {
  test('single-GPU pods take queuedPromptsPerGpu each; multi-GPU pods that times their GPUs', () => {
    const config = configWith({ queuedPromptsPerGpu: 2, gpusPerMultiGpuNode: 8 });
    const built = build(config);
    const targets = (docs: any[]) => {
      const so = findDocument(docs, 'ScaledObject', 'comfyui');
      return [trigger(so, 'jobs').metadata.queueLength, trigger(so, 'interactive').metadata.targetValue, trigger(so, 'wake').metadata.queueLength];
    };
    expect(targets(built['single-gpu'])).toEqual(['2', '2', '100000']);
    expect(targets(built['multi-gpu'])).toEqual(['16', '16', '100000']);
    expect(String(scaledObjectSpec(config, 8).triggers.jobs.target)).toBe('16');
  });
});

describe('a warm schedule', () => {
  test('adds a cron trigger for its pods in its zone; the other triggers stay', () => {
    const config = configWith({ warmScheduleTimezone: 'Europe/Berlin', warmScheduleStart: '0 9 * * 1-5', warmScheduleEnd: '0 19 * * 1-5', warmReplicas: 2 });
    for (const docs of Object.values(build(config))) {
      const so = findDocument(docs, 'ScaledObject', 'comfyui');
      expect(so.spec.triggers.map((t: any) => t.name)).toEqual(['jobs', 'wake', 'interactive', 'warm']);
      expect(trigger(so, 'warm')).toEqual({
        type: 'cron',
        name: 'warm',
        metadata: { timezone: 'Europe/Berlin', start: '0 9 * * 1-5', end: '0 19 * * 1-5', desiredReplicas: '2' },
      });
    }
  });
});

describe('with autoscaling off', () => {
  test('the Deployment keeps comfyuiReplicas and no scaling object is applied, in either overlay', () => {
    const config = configWith({ autoscaling: false, comfyuiReplicas: 2 });
    expect(Object.keys(manifestsLeftOut(config)).sort()).toEqual([...SCALING_MANIFESTS].sort());
    for (const docs of Object.values(build(config))) {
      expect(findDocument(docs, 'Deployment', 'comfyui').spec.replicas).toBe(2);
      const kinds = docs.map((d) => `${d.kind}/${d.metadata.name}`);
      expect(kinds.filter((k) => /^(ScaledObject|TriggerAuthentication)\//.test(k))).toEqual([]);
      expect(kinds).not.toContain(`Service/${JOB_RUNNER_SERVICE_NAME}`);
      expect(kinds).not.toContain('NetworkPolicy/job-runner-from-keda');
      // The job runner itself stays: jobs are still on.
      expect(kinds).toContain('Deployment/job-runner');
    }
  });

  test('comfyuiReplicas 0 renders replicas: 0, not a missing field', () => {
    const docs = build(configWith({ autoscaling: false, comfyuiReplicas: 0 }))['single-gpu'];
    expect(findDocument(docs, 'Deployment', 'comfyui').spec.replicas).toBe(0);
  });
});

describe('the queues KEDA reads', () => {
  test('the wake queue is beside the jobs queue: same endpoint, same account', () => {
    expect(queueUrlBeside('https://sqs.eu-west-1.amazonaws.com/210987654321/studio-jobs', 'studio-wake'))
      .toBe('https://sqs.eu-west-1.amazonaws.com/210987654321/studio-wake');
    expect(queueUrlBeside('https://sqs.cn-north-1.amazonaws.com.cn/210987654321/studio-jobs', 'studio-wake'))
      .toBe('https://sqs.cn-north-1.amazonaws.com.cn/210987654321/studio-wake');
  });

  test('a jobs queue without its fixed name (a jobs stack deployed before it had one) fails naming the fix', () => {
    const config = configWith();
    const jobs = { ...exampleJobsStackValues(config), jobsQueueUrl: `https://sqs.${config.region}.amazonaws.com/${config.account}/ComfyuiJobs-JobsQueue5A1B-AbCd` };
    expect(() => manifestValues(exampleStackValues(config), config, '0.1.0', jobs)).toThrow(/not named comfyui-jobs.*deploy the jobs stack again/);
  });

  test('the example values use the fixed name too', () => {
    const config = configWith();
    expect(exampleJobsStackValues(config).jobsQueueUrl).toMatch(new RegExp(`/${config.clusterName}-jobs$`));
    expect(COMFYUI_NAMESPACE).toBe(findDocument(build(config)['single-gpu'], 'ScaledObject', 'comfyui').metadata.namespace);
  });
});
