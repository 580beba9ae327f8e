import { describe, expect, test } from 'vitest';
import { DoctorFacts } from '../../lib/cli/doctor/doctor-facts';
import { KubeDeployment } from '../../lib/cli/doctor/kube-objects';
import { CLOUDWATCH_OBSERVABILITY_NAMESPACE, COMFYUI_METRICS_SCRAPER, EDGE_WEB_ACL_STACK_NAME, KEDA_NAMESPACE, STACK_NAMES } from '../../lib/names';
import { healthyFacts, verdict, withCluster } from '../helpers/doctor-facts';

/** The healthy Deployments with one replaced (or removed, when `replacement` is undefined). */
function deploymentsWith(namespace: string, name: string, replacement?: Partial<KubeDeployment>): { ok: KubeDeployment[] } {
  const healthy = (healthyFacts().cluster.deployments as { ok: KubeDeployment[] }).ok;
  const others = healthy.filter((d) => !(d.metadata.name === name && d.metadata.namespace === namespace));
  return { ok: replacement ? [...others, { metadata: { name, namespace }, ...replacement }] : others };
}

/** healthyFacts() of a deployment with the jobs stack: its outputs, its stack, the job runner (null: missing) and its dead-letter queue. */
function withJobs(runner: Partial<KubeDeployment> | null = { spec: { replicas: 1 }, status: { readyReplicas: 1 } }, dlqMessages = 0): DoctorFacts {
  const healthy = healthyFacts();
  const outputs = { ...(healthy.outputs as { ok: Record<string, Record<string, unknown>> }).ok, [STACK_NAMES.jobs]: { JobsQueueUrl: 'https://sqs/jobs' } };
  const stacks = { ...(healthy.stacks as { ok: Record<string, string> }).ok, [STACK_NAMES.jobs]: 'CREATE_COMPLETE' };
  return {
    ...healthy,
    outputs: { ok: outputs },
    stacks: { ok: stacks },
    cluster: { ...healthy.cluster, deployments: deploymentsWith('comfyui', 'job-runner', runner ?? undefined) },
    jobsDeadLetters: { ok: { queueUrl: 'https://sqs/jobs-dlq', messages: dlqMessages } },
  };
}

describe('doctor: KEDA', () => {
  test('ready operator and metrics server and a Ready ScaledObject PASS, saying whether demand is seen', () => {
    expect(verdict(healthyFacts(), 'keda')).toMatchObject({ status: 'PASS', detail: expect.stringContaining('ScaledObject comfyui/comfyui Ready, idle') });
  });

  test('no ScaledObject, or no KEDA at all, WARNs that autoscaling is off and how to turn it on', () => {
    const none = verdict(withCluster({ scaledObjects: { ok: [] } }), 'keda');
    expect(none).toMatchObject({ status: 'WARN', detail: expect.stringContaining('autoscaling off: no ScaledObject comfyui/comfyui') });
    expect(none.next).toContain('autoscaling=true');
    const noCrd = withCluster({ scaledObjects: { error: 'kubectl get scaledobjects.keda.sh: error: the server doesn\'t have a resource type "scaledobjects"' } });
    expect(verdict(noCrd, 'keda')).toMatchObject({ status: 'WARN', detail: expect.stringContaining('KEDA is not installed') });
  });

  test('a ScaledObject whose KEDA operator is not ready, or missing, FAILs with where to look', () => {
    const notReady = verdict(withCluster({ deployments: deploymentsWith(KEDA_NAMESPACE, 'keda-operator', { spec: { replicas: 1 }, status: { readyReplicas: 0 } }) }), 'keda');
    expect(notReady).toMatchObject({ status: 'FAIL', detail: expect.stringContaining('0/1 replicas of keda/keda-operator ready') });
    expect(notReady.next).toContain('kubectl -n keda logs deploy/keda-operator');
    const missing = verdict(withCluster({ deployments: deploymentsWith(KEDA_NAMESPACE, 'keda-operator-metrics-apiserver') }), 'keda');
    expect(missing).toMatchObject({ status: 'FAIL', detail: expect.stringContaining('Deployment keda/keda-operator-metrics-apiserver missing') });
  });

  test('a ScaledObject that is not Ready FAILs with KEDA\'s reason and the describe command', () => {
    const scaledObjects = { ok: [{ metadata: { name: 'comfyui', namespace: 'comfyui' }, status: { conditions: [{ type: 'Ready', status: 'False', reason: 'ScaledObjectCheckFailed', message: 'error getting scaler: sqs queue not found' }] } }] };
    const v = verdict(withCluster({ scaledObjects }), 'keda');
    expect(v).toMatchObject({ status: 'FAIL', detail: 'ScaledObject comfyui/comfyui not Ready: ScaledObjectCheckFailed: error getting scaler: sqs queue not found' });
    expect(v.next).toContain('kubectl -n comfyui describe scaledobject comfyui');
  });

  test('kubectl failing for another reason is not read as "KEDA not installed"', () => {
    const v = verdict(withCluster({ scaledObjects: { error: 'kubectl get scaledobjects.keda.sh: Unauthorized' } }), 'keda');
    expect(v).toMatchObject({ status: 'WARN', detail: 'not checked: kubectl get scaledobjects.keda.sh: Unauthorized', next: 'fix kube-access first' });
  });
});

describe('doctor: the job runner and the jobs dead-letter queue', () => {
  test('without the jobs stack both PASS as jobs off', () => {
    expect(verdict(healthyFacts(), 'job-runner')).toMatchObject({ status: 'PASS', detail: expect.stringContaining('jobs off') });
    expect(verdict(healthyFacts(), 'jobs-dlq')).toMatchObject({ status: 'PASS', detail: expect.stringContaining('jobs off') });
  });

  test('with jobs, a ready runner and an empty dead-letter queue PASS', () => {
    expect(verdict(withJobs(), 'job-runner')).toMatchObject({ status: 'PASS', detail: '1/1 replicas of comfyui/job-runner ready' });
    expect(verdict(withJobs(), 'jobs-dlq')).toMatchObject({ status: 'PASS', detail: 'dead-letter queue empty (https://sqs/jobs-dlq)' });
  });

  test('a runner missing or not ready FAILs; scaled to 0 WARNs that jobs wait', () => {
    expect(verdict(withJobs(null), 'job-runner')).toMatchObject({ status: 'FAIL', detail: expect.stringContaining('Deployment comfyui/job-runner missing'), next: expect.stringContaining('npm run render') });
    const notReady = verdict(withJobs({ spec: { replicas: 2 }, status: { readyReplicas: 1 } }), 'job-runner');
    expect(notReady).toMatchObject({ status: 'FAIL', detail: '1/2 replicas of comfyui/job-runner ready', next: expect.stringContaining('logs deploy/job-runner') });
    expect(verdict(withJobs({ spec: { replicas: 0 } }), 'job-runner')).toMatchObject({ status: 'WARN', next: expect.stringContaining('jobRunnerReplicas=1') });
  });

  test('messages left in the jobs dead-letter queue, or a queue that cannot be read, FAIL', () => {
    expect(verdict(withJobs(undefined, 2), 'jobs-dlq')).toMatchObject({ status: 'FAIL', detail: expect.stringContaining('2 job messages in https://sqs/jobs-dlq') });
    const unread = verdict({ ...withJobs(), jobsDeadLetters: { error: 'https://sqs/jobs has no redrive policy, so no dead-letter queue to read' } }, 'jobs-dlq');
    expect(unread).toMatchObject({ status: 'FAIL', next: expect.stringContaining('sqs:GetQueueAttributes') });
  });
});

describe('doctor: the us-east-1 stacks', () => {
  const withOperations = (edgeStacks: Record<string, string>, outputsExtra: Record<string, Record<string, unknown>> = {}): DoctorFacts => {
    const healthy = healthyFacts();
    return {
      ...healthy,
      outputs: { ok: { ...(healthy.outputs as { ok: Record<string, Record<string, unknown>> }).ok, ...outputsExtra } },
      stacks: { ok: { ...(healthy.stacks as { ok: Record<string, string> }).ok, [STACK_NAMES.operations]: 'CREATE_COMPLETE' } },
      edgeStacks: { ok: edgeStacks },
    };
  };

  test('none configured PASSes; configured and deployed PASSes', () => {
    expect(verdict(healthyFacts(), 'edge-stacks')).toMatchObject({ status: 'PASS', detail: expect.stringContaining('none configured') });
    const both = withOperations({ [STACK_NAMES.operationsEdge]: 'CREATE_COMPLETE', [EDGE_WEB_ACL_STACK_NAME]: 'UPDATE_COMPLETE' });
    expect(verdict(both, 'edge-stacks')).toMatchObject({ status: 'PASS', detail: `${STACK_NAMES.operationsEdge}, ${EDGE_WEB_ACL_STACK_NAME} deployed in us-east-1` });
  });

  test('operations with CloudFront but no alarm stack in us-east-1 FAILs with the bootstrap hint', () => {
    const v = verdict(withOperations({}), 'edge-stacks');
    expect(v).toMatchObject({ status: 'FAIL', detail: `not deployed in us-east-1: ${STACK_NAMES.operationsEdge}` });
    expect(v.next).toContain('cdk bootstrap aws://<account>/us-east-1');
  });

  test('a web ACL stack named in the outputs but absent, or rolled back, FAILs', () => {
    const absent = verdict(withOperations({ [STACK_NAMES.operationsEdge]: 'CREATE_COMPLETE' }, { [EDGE_WEB_ACL_STACK_NAME]: {} }), 'edge-stacks');
    expect(absent).toMatchObject({ status: 'FAIL', detail: `not deployed in us-east-1: ${EDGE_WEB_ACL_STACK_NAME}` });
    const rolledBack = verdict(withOperations({ [STACK_NAMES.operationsEdge]: 'CREATE_COMPLETE', [EDGE_WEB_ACL_STACK_NAME]: 'ROLLBACK_COMPLETE' }), 'edge-stacks');
    expect(rolledBack).toMatchObject({ status: 'FAIL', detail: `not usable: ${EDGE_WEB_ACL_STACK_NAME} ROLLBACK_COMPLETE` });
    expect(rolledBack.next).toContain(`--region us-east-1 --stack-name ${EDGE_WEB_ACL_STACK_NAME}`);
  });

  test('us-east-1 not readable WARNs', () => {
    expect(verdict({ ...healthyFacts(), edgeStacks: { error: 'AccessDenied' } }, 'edge-stacks')).toMatchObject({ status: 'WARN' });
  });
});

describe('doctor: the dashboard\'s metrics agents (config operations)', () => {
  /** healthyFacts() with the operations stack and the given add-on workloads (GPU node count from healthyFacts: 1 of 2 nodes). */
  function withOperations(daemonSets: { name: string; desired: number; ready: number }[], scraperReady = 1): DoctorFacts {
    const healthy = healthyFacts();
    const ns = CLOUDWATCH_OBSERVABILITY_NAMESPACE;
    return {
      ...healthy,
      stacks: { ok: { ...(healthy.stacks as { ok: Record<string, string> }).ok, [STACK_NAMES.operations]: 'CREATE_COMPLETE' } },
      cluster: {
        ...healthy.cluster,
        daemonSets: { ok: [...(healthy.cluster.daemonSets as { ok: any[] }).ok, ...daemonSets.map((d) => ({ metadata: { name: d.name, namespace: ns }, status: { desiredNumberScheduled: d.desired, numberReady: d.ready } }))] },
        deployments: { ok: [...(healthy.cluster.deployments as { ok: any[] }).ok, { metadata: { name: COMFYUI_METRICS_SCRAPER, namespace: ns }, spec: { replicas: 1 }, status: { readyReplicas: scraperReady } }] },
      },
    };
  }
  const healthyAgents = [{ name: 'cloudwatch-agent', desired: 2, ready: 2 }, { name: 'dcgm-exporter', desired: 1, ready: 1 }, { name: 'fluent-bit', desired: 2, ready: 2 }];

  test('operations off PASSes; every agent ready PASSes', () => {
    expect(verdict(healthyFacts(), 'metrics-agents')).toMatchObject({ status: 'PASS', detail: expect.stringContaining('operations off') });
    expect(verdict(withOperations(healthyAgents), 'metrics-agents')).toMatchObject({ status: 'PASS', detail: expect.stringContaining('DCGM exporter (GPU metrics)') });
  });

  test('a DCGM exporter that skips the GPU node, or a scraper not ready, FAILs: the dashboard misses data', () => {
    const noGpu = verdict(withOperations([healthyAgents[0], { name: 'dcgm-exporter', desired: 0, ready: 0 }, healthyAgents[2]]), 'metrics-agents');
    expect(noGpu).toMatchObject({ status: 'FAIL', detail: expect.stringContaining('amazon-cloudwatch/dcgm-exporter wants 0 of 1 GPU nodes') });
    expect(noGpu.next).toContain('kubectl -n amazon-cloudwatch describe daemonset dcgm-exporter');
    expect(noGpu.next).toContain('aws eks describe-addon');
    const scraper = verdict(withOperations(healthyAgents, 0), 'metrics-agents');
    expect(scraper).toMatchObject({ status: 'FAIL', detail: expect.stringContaining(`0/1 replicas of amazon-cloudwatch/${COMFYUI_METRICS_SCRAPER} ready`) });
  });
});
