import * as fs from 'node:fs';
import * as path from 'node:path';
import { CreateQueueCommand, DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { KEDA_NAMESPACE } from '../../lib/names';
import { FileServer, startFileServer } from '../helpers/file-server';
import { KedaOperator, kedaOperatorBin, startKedaOperator } from '../helpers/keda-operator';
import { KubeControlPlane, startKubeControlPlane, waitFor } from '../helpers/kube-control-plane';
import { MotoServer, startMotoServer } from '../helpers/moto-server';
import { PodIdentityAgent, startPodIdentityAgent } from '../helpers/pod-identity-agent';
import { RenderedScalingObjects, renderedScalingObjects, scaledObjectOnLoopback } from '../helpers/rendered-scaling-objects';

/**
 * KEDA's real operator (scripts/keda-operator.sh) against a real kube-apiserver 1.35 + kube-controller-manager,
 * with KEDA's CRDs as scripts/manifest-tools.sh builds them. The ComfyUI Deployment, ScaledObject and
 * TriggerAuthentication are the single-GPU render's; only the triggers' endpoints (moto's SQS, a stand-in for the
 * runner's /scaling) and the timings (poll every 1 s, cooldown 5 s) change. Credentials come the way EKS Pod Identity
 * gives them (a loopback stand-in for its agent). No HPA controller runs, so this is KEDA's part: 0 <-> 1.
 * Waits are polls with generous bounds, never fixed sleeps.
 */
const CRDS = path.join(__dirname, '..', '..', 'build', 'tools', 'crds');
const COOLDOWN_SECONDS = 5;
/** Generous: the operator polls every second, but a loaded 2-core machine can stall processes for many seconds. */
const SCALE_BOUND_MS = 90_000;

/** KEDA's CRDs (groups keda.sh and eventing.keda.sh) from build/tools/crds, as its chart ships them. */
function kedaCrds(): any[] {
  const files = fs.existsSync(CRDS) ? fs.readdirSync(CRDS).filter((f) => f.endsWith('.yaml')) : [];
  const crds = files.flatMap((f) => parseAllDocuments(fs.readFileSync(path.join(CRDS, f), 'utf8')).map((d) => d.toJS()))
    .filter((d) => d?.kind === 'CustomResourceDefinition' && /(^|\.)keda\.sh$/.test(d.spec.group));
  if (crds.length === 0) throw new Error(`no KEDA CRDs in ${CRDS}: run \`bash scripts/manifest-tools.sh\` (npm test does)`);
  return crds;
}

const asList = (items: any[]) => JSON.stringify({ apiVersion: 'v1', kind: 'List', items });

describe("KEDA's operator scales the rendered ComfyUI Deployment on a real control plane", () => {
  let kube: KubeControlPlane;
  let moto: MotoServer;
  let agent: PodIdentityAgent;
  let runner: FileServer;
  let keda: KedaOperator;
  let sqs: SQSClient;
  let rendered: RenderedScalingObjects;
  const queueUrls: Record<string, string> = {};
  let replicasBeforeKeda = -1;

  const name = () => rendered.deployment.metadata.name;
  const namespace = () => rendered.deployment.metadata.namespace;
  const get = (args: string[]) => {
    const run = kube.kubectl(['get', ...args, '-n', namespace(), '-o', 'json']);
    if (run.status !== 0) throw new Error(`kubectl get ${args.join(' ')}: ${run.stderr}`);
    return JSON.parse(run.stdout);
  };
  /** The Deployment's replicas as the scale subresource (what KEDA writes) reports them. */
  const replicas = (): number => {
    const run = kube.kubectl(['get', '--raw', `/apis/apps/v1/namespaces/${namespace()}/deployments/${name()}/scale`]);
    return run.status === 0 ? (JSON.parse(run.stdout).spec.replicas ?? 0) : -1;
  };
  const condition = (type: string): string | undefined =>
    (get(['scaledobject', rendered.scaledObject.metadata.name]).status?.conditions ?? []).find((c: any) => c.type === type)?.status;
  /** Polls until `ready` holds; a timeout names the replicas and carries the operator's last log lines. */
  const eventually = async (what: string, ready: () => boolean, timeoutMs = SCALE_BOUND_MS) => {
    try {
      await waitFor(what, timeoutMs, undefined, ready);
    } catch (error) {
      throw new Error(`${(error as Error).message}; replicas ${replicas()}; keda-operator log:\n${keda.log()}`);
    }
  };
  /** Asserts `hold` stays true for `ms` (for "does not scale" claims), polling. */
  const throughout = async (what: string, ms: number, hold: () => boolean) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (!hold()) throw new Error(`${what} stopped holding; keda-operator log:\n${keda.log()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  const emptyQueue = async (url: string) => {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    for (const m of Messages) await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }));
    return Messages.length;
  };
  const trigger = (type: string) => rendered.scaledObject.spec.triggers.find((t: any) => t.type === type);
  /** The runner stand-in's GET /scaling: a demand figure, or an error status (the runner down). */
  const runnerAnswers = (answer: number | 'down') => runner.route('/scaling', answer === 'down' ? { status: 503 }
    : { body: Buffer.from(JSON.stringify({ [trigger('metrics-api').metadata.valueLocation]: answer })) });

  beforeAll(async () => {
    kedaOperatorBin();
    const crds = kedaCrds();
    rendered = renderedScalingObjects();
    [kube, moto, agent, runner] = await Promise.all([startKubeControlPlane(), startMotoServer(), startPodIdentityAgent(), startFileServer()]);
    runnerAnswers(0);

    // The rendered queues' names, in moto, in the rendered region.
    const sqsTriggers = rendered.scaledObject.spec.triggers.filter((t: any) => t.type === 'aws-sqs-queue');
    sqs = new SQSClient({ endpoint: moto.endpoint, region: sqsTriggers[0].metadata.awsRegion,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
    for (const t of sqsTriggers) {
      const queueName = new URL(t.metadata.queueURL).pathname.split('/')[2];
      queueUrls[t.name] = (await sqs.send(new CreateQueueCommand({ QueueName: queueName }))).QueueUrl!;
    }

    const crdApply = kube.kubectl(['apply', '--server-side', '-f', '-'], asList(crds));
    if (crdApply.status !== 0) throw new Error(`KEDA's CRDs were refused: ${crdApply.stderr}`);
    const established = kube.kubectl(['wait', '--for=condition=Established', '--timeout=120s', ...crds.map((c) => `crd/${c.metadata.name}`)]);
    if (established.status !== 0) throw new Error(`KEDA's CRDs not established: ${established.stderr}`);
    const scaledObject = scaledObjectOnLoopback(rendered.scaledObject, { awsEndpoint: moto.endpoint, queueUrls,
      metricsApiUrl: `${runner.url}/scaling`, pollingInterval: 1, cooldownPeriod: COOLDOWN_SECONDS });
    const objects = [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: KEDA_NAMESPACE } }, rendered.namespace,
      rendered.deployment, rendered.triggerAuthentication, scaledObject];
    const applied = kube.kubectl(['apply', '--server-side', '--field-manager=keda-test', '-f', '-'], asList(objects));
    if (applied.status !== 0) throw new Error(`the rendered scaling objects were refused: ${applied.stderr}`);
    replicasBeforeKeda = replicas();
    keda = await startKedaOperator(kube.kubeconfig, agent.env);
  });
  afterAll(async () => {
    await keda?.stop();
    await Promise.all([kube?.stop(), moto?.stop(), agent?.stop(), runner?.close()]);
  });

  test('the operator takes the rendered ScaledObject: Ready, an HPA over its triggers with the rendered bounds and behavior, and the new Deployment (1 replica: rendered without `replicas`) goes to 0 with no demand', async () => {
    expect(rendered.deployment.spec.replicas).toBeUndefined();
    expect(replicasBeforeKeda).toBe(1);
    await eventually('ScaledObject Ready=True', () => condition('Ready') === 'True');
    await eventually('the Deployment at 0 replicas', () => replicas() === 0);
    await eventually('ScaledObject Active=False', () => condition('Active') === 'False');

    const spec = rendered.scaledObject.spec;
    const hpa = get(['hpa', `keda-hpa-${rendered.scaledObject.metadata.name}`]);
    expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: name() });
    expect(hpa.spec.minReplicas).toBe(1);
    expect(hpa.spec.maxReplicas).toBe(spec.maxReplicaCount);
    expect(hpa.spec.behavior).toMatchObject(spec.advanced.horizontalPodAutoscalerConfig.behavior);
    // One external AverageValue metric per trigger, in order.
    expect(hpa.spec.metrics.map((m: any) => [m.type, m.external.target.type])).toEqual(spec.triggers.map(() => ['External', 'AverageValue']));
  });

  test('SQS is read with the credentials EKS Pod Identity would give the operator, and the runner stand-in is polled', () => {
    expect(agent.requests().authorized).toBeGreaterThan(0);
    expect(agent.requests().refused).toBe(0);
    const reads = moto.recordedRequests().filter((r) => /GetQueueAttributes/.test(`${r.headers['X-Amz-Target'] ?? r.headers['x-amz-target'] ?? ''} ${r.body}`));
    expect(reads.length).toBeGreaterThan(0);
    for (const r of reads) expect(r.headers.Authorization ?? r.headers.authorization).toContain(`Credential=${agent.accessKeyId}/`);
    expect(runner.requests.filter((r) => r.path === '/scaling').length).toBeGreaterThan(0);
  });

  test('a message in the jobs queue wakes it from 0 to 1; with the queue empty it returns to 0 after the cooldown', async () => {
    expect(replicas()).toBe(0);
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrls.jobs, MessageBody: '{"job":"test"}' }));
    await eventually('the Deployment at 1 replica', () => replicas() === 1);
    await eventually('ScaledObject Active=True', () => condition('Active') === 'True');

    expect(await emptyQueue(queueUrls.jobs)).toBe(1);
    const emptied = Date.now();
    await eventually('the Deployment back at 0', () => replicas() === 0);
    // The last active poll can precede the delete by up to one poll interval and the receive's wait (1 s each).
    expect(Date.now() - emptied).toBeGreaterThanOrEqual((COOLDOWN_SECONDS - 2) * 1000);
    await eventually('ScaledObject Active=False', () => condition('Active') === 'False');
  });

  test('a message in the wake queue wakes it, and so does demand reported by the runner', async () => {
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrls.wake, MessageBody: 'wake' }));
    await eventually('the Deployment at 1 replica (wake)', () => replicas() === 1);
    expect(await emptyQueue(queueUrls.wake)).toBe(1);
    await eventually('the Deployment back at 0 (wake)', () => replicas() === 0);

    runnerAnswers(1);
    await eventually('the Deployment at 1 replica (runner demand)', () => replicas() === 1);
    runnerAnswers(0);
    await eventually('the Deployment back at 0 (runner idle)', () => replicas() === 0);
  });

  test('with the runner down, the fallback stands for one pod: after failureThreshold failed polls it wakes the Deployment from 0 and holds it at 1 past the cooldown; with the runner back it returns to 0', async () => {
    expect(replicas()).toBe(0);
    runnerAnswers('down');
    await eventually('ScaledObject Fallback=True', () => condition('Fallback') === 'True');
    await eventually('the Deployment at 1 replica (fallback)', () => replicas() === 1);
    await throughout('1 replica while the runner is down', (COOLDOWN_SECONDS + 3) * 1000, () => replicas() === 1);
    const health = get(['scaledobject', rendered.scaledObject.metadata.name]).status.health;
    const failures = Object.values(health ?? {}).map((h: any) => h.numberOfFailures);
    expect(Math.max(...failures)).toBeGreaterThan(rendered.scaledObject.spec.fallback.failureThreshold);

    runnerAnswers(0);
    await eventually('the Deployment back at 0 (runner back)', () => replicas() === 0);
    await eventually('ScaledObject Fallback=False (runner back)', () => condition('Fallback') === 'False');
  });
});
