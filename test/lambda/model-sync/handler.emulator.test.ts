import { EC2Client, StopInstancesCommand } from '@aws-sdk/client-ec2';
import { CreateDocumentCommand, ListCommandsCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { Context, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { modelSyncDocumentContent } from '../../../lib/constructs/model-sync-document';
import { Logger } from '@aws-lambda-powertools/logger';
import { ACCESS_DENIED, FaultProxy, InjectedFault, startFaultProxy, THROTTLED } from '../../helpers/fault-proxy';
import { ManagedNodes } from '../../helpers/ssm-managed-nodes';
import { MotoServer, recordedCalls, startMotoServer } from '../../helpers/moto-server';
import { readConfig } from '../../../lambda/model-sync/config';
import { syncBatch } from '../../../lambda/model-sync/sync-batch';
import { karpenterTags, launchInstances } from '../../helpers/gpu-nodes';
import { s3NotificationBody, s3TestEventBody } from '../../helpers/s3-notifications';
import { sqsEvent } from '../../helpers/sqs-event';

/**
 * The real handler against moto's EC2 and SSM APIs on loopback: the handler module is imported only
 * after AWS_ENDPOINT_URL points at the emulator, exactly as a deployment would configure it. SSM's record of
 * which nodes are online, which moto lacks, is kept by ManagedNodes in the proxy in front of moto.
 */
const BUCKET = 'comfyui-models-123456789012-us-west-2';
const CLUSTER = 'comfyui';
const DOCUMENT = 'ComfyUI-SyncModels';
const context = { functionName: 'model-sync', awsRequestId: 'req-1' } as Context;

let moto: MotoServer;
let proxy: FaultProxy;
let managed: ManagedNodes;
const SEND_COMMAND = 'AmazonSSM.SendCommand';
let ec2: EC2Client;
let ssm: SSMClient;
let handler: (event: SQSEvent, context: Context) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>;
const expectedTargets: string[] = [];
const logLines: string[] = [];

const launch = (count: number, tags: Record<string, string>) => launchInstances(ec2, count, tags);

async function commandsSent() {
  return (await ssm.send(new ListCommandsCommand({}))).Commands ?? [];
}

/**
 * The SendCommand requests moto received. moto 5.2.5's ListCommands reports every instance in the region
 * for a command sent with InstanceIds only (it adds all instances matched by an empty Targets filter), so
 * the instance IDs are read from the recorded requests; ListCommands still proves moto accepted them.
 */
const sendCommandRequests = () => recordedCalls(moto, 'AmazonSSM.SendCommand');

const decodeKeys = (p: string) => JSON.parse(Buffer.from(p, 'base64').toString('utf8'));

beforeAll(async () => {
  moto = await startMotoServer();
  proxy = await startFaultProxy(moto.endpoint);
  managed = new ManagedNodes(proxy);
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: proxy.endpoint,
    AWS_REGION: 'us-west-2',
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    MODELS_BUCKET: BUCKET,
    CLUSTER_NAME: CLUSTER,
    NODE_POOLS: 'comfyui-single-gpu,comfyui-multi-gpu',
    SYNC_DOCUMENT_NAME: DOCUMENT,
    SYNC_LOG_GROUP: '/comfyui/comfyui/model-sync',
  });
  ec2 = new EC2Client({});
  ssm = new SSMClient({});
  await ssm.send(new CreateDocumentCommand({
    Name: DOCUMENT,
    DocumentType: 'Command',
    DocumentFormat: 'JSON',
    Content: JSON.stringify(modelSyncDocumentContent({ bucketName: BUCKET, region: 'us-west-2' })),
  }));
  // 62 single-GPU + 5 multi-GPU running nodes of this cluster: the targets (67 -> 2 commands).
  expectedTargets.push(...await launch(62, karpenterTags(CLUSTER, 'comfyui-single-gpu')));
  expectedTargets.push(...await launch(5, karpenterTags(CLUSTER, 'comfyui-multi-gpu')));
  managed.register(expectedTargets);
  // Not targets: stopped nodes, another cluster's nodes, this cluster's system nodes and another pool.
  const stopped = await launch(4, karpenterTags(CLUSTER, 'comfyui-single-gpu'));
  await ec2.send(new StopInstancesCommand({ InstanceIds: stopped }));
  await launch(6, karpenterTags('other-cluster', 'comfyui-single-gpu'));
  await launch(3, { 'eks:eks-cluster-name': CLUSTER, [`kubernetes.io/cluster/${CLUSTER}`]: 'owned' });
  await launch(2, karpenterTags(CLUSTER, 'default'));

  // Powertools writes INFO to stdout and ERROR to stderr; keep both for the log assertions.
  for (const stream of [process.stdout, process.stderr]) {
    stream.write = ((chunk: unknown) => {
      logLines.push(String(chunk));
      return true;
    }) as typeof stream.write;
  }
  ({ handler } = await import('../../../lambda/model-sync/handler'));
});

afterAll(async () => {
  await proxy?.close();
  await moto?.stop();
});

describe('model-sync handler against the moto emulator', () => {
  test('fans a burst of 1,000 uploads out as ceil(67 / 50) = 2 commands to exactly the running GPU nodes, '
    + 'riding out throttling', async () => {
    proxy.inject(SEND_COMMAND, THROTTLED, THROTTLED, THROTTLED);
    const bodies: Record<string, string> = {};
    for (let i = 0; i < 1000; i++) {
      bodies[`m${i}`] = s3NotificationBody([{ key: `loras/burst ${i % 10}.safetensors` }], BUCKET);
    }
    const before = (await commandsSent()).length;
    const requestsBefore = sendCommandRequests().length;
    const response = await handler(sqsEvent(bodies), context);

    expect(response.batchItemFailures).toEqual([]);
    expect(proxy.pending(SEND_COMMAND)).toBe(0); // all three throttles were served, and retried
    // Whether SSM reports them online: its managed EC2 nodes (the 67), read in pages of 50, no instance id named.
    expect(managed.describeRequests.slice(-2)).toEqual([
      { Filters: [{ Key: 'ResourceType', Values: ['EC2Instance'] }], MaxResults: 50 },
      { Filters: [{ Key: 'ResourceType', Values: ['EC2Instance'] }], MaxResults: 50, NextToken: '50' },
    ]);
    expect((await commandsSent()).length - before).toBe(2);
    const sent = sendCommandRequests().slice(requestsBefore);
    expect(sent).toHaveLength(2);
    expect(sent.map((c) => c.InstanceIds.length).sort((a: number, b: number) => a - b)).toEqual([17, 50]);
    expect(sent.flatMap((c) => c.InstanceIds).sort()).toEqual([...expectedTargets].sort());
    for (const command of sent) {
      expect(command.DocumentName).toBe(DOCUMENT);
      expect(command.CloudWatchOutputConfig).toEqual({
        CloudWatchOutputEnabled: true, CloudWatchLogGroupName: '/comfyui/comfyui/model-sync',
      });
      expect(decodeKeys(command.Parameters.keys[0])).toEqual(
        Array.from({ length: 10 }, (_, i) => `loras/burst ${i}.safetensors`).sort(),
      );
    }
  });

  test('sends nothing for test events and ignored keys, and fails only the malformed message', async () => {
    const before = sendCommandRequests().length;
    const response = await handler(sqsEvent({
      test: s3TestEventBody(BUCKET),
      ignored: s3NotificationBody([{ key: 'codebuild/build.zip' }], BUCKET),
      broken: '{"Records": "nope"}',
    }), context);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'broken' }]);
    expect(sendCommandRequests().length).toBe(before);
  });

  test('reports the records that carried changes as failures when SSM keeps refusing, so SQS retries them', async () => {
    proxy.inject(SEND_COMMAND, ...Array(20).fill(ACCESS_DENIED));
    const response = await handler(sqsEvent({
      change: s3NotificationBody([{ key: 'checkpoints/new.safetensors' }], BUCKET),
      test: s3TestEventBody(BUCKET),
    }), context);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'change' }]);
    expect(proxy.pending(SEND_COMMAND)).toBe(18); // AccessDenied is not retried: one per chunk of 50 nodes
    proxy.clear(SEND_COMMAND);
  });

  test('succeeds without sending anything when the cluster has no GPU nodes (they sync at boot)', async () => {
    const before = sendCommandRequests().length;
    const response = await syncBatch(
      sqsEvent({ m: s3NotificationBody([{ key: 'loras/a.safetensors' }], BUCKET) }),
      context,
      { ec2, ssm, logger: new Logger({ logLevel: 'SILENT' }), config: { ...readConfig(process.env), clusterName: 'idle' } },
    );
    expect(response.batchItemFailures).toEqual([]);
    expect(sendCommandRequests().length).toBe(before);
  });

  test('logs structured JSON lines that say what was planned and what was ignored', () => {
    const entries = logLines.flatMap((l) => l.split('\n')).filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    expect(entries.find((e) => e.message === 'Planned sync' && e.changedKeys === 10)).toMatchObject({
      level: 'INFO', service: 'comfyui-model-sync', records: 1000,
    });
    expect(entries.find((e) => e.message === 'Ignoring notification')).toMatchObject({
      key: 'codebuild/build.zip', reason: expect.stringContaining('not under a ComfyUI model folder'),
    });
    expect(entries.find((e) => e.message === 'Malformed message')).toMatchObject({ messageId: 'broken' });
    expect(entries.find((e) => e.message === 'Sync fan-out failed; the batch will be retried')).toMatchObject({
      level: 'ERROR',
      commands: expect.arrayContaining([expect.objectContaining({ error: expect.stringContaining('AccessDenied') })]),
    });
  });
});

describe('model-sync handler with nodes SSM cannot reach yet', () => {
  const INVALID_INSTANCE_ID: InjectedFault = {
    status: 400, type: 'InvalidInstanceId', message: 'Instances not in a valid state for account',
  };
  const logger = new Logger({ serviceName: 'comfyui-model-sync' });
  const syncCluster = (clusterName: string) => syncBatch(
    sqsEvent({ m: s3NotificationBody([{ key: 'loras/a.safetensors' }], BUCKET) }),
    context,
    { ec2, ssm, logger, config: { ...readConfig(process.env), clusterName } },
  );
  const logged = (message: string) => logLines.flatMap((l) => l.split('\n')).filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l)).filter((e) => e.message === message);
  const sorted = (ids: string[]) => [...ids].sort();

  const bootingMessage = (n: number) =>
    `${n} GPU nodes are still booting (not yet registered with SSM); the batch is retried after the queue's ` +
    'visibility timeout so they get these keys too';
  const unreachableMessage = (n: number) =>
    `${n} running GPU nodes are not reachable through SSM (ConnectionLost, Inactive or never registered): they keep ` +
    'their models as they are until they are replaced; check their SSM agent';

  test('sends only to the nodes SSM reports Online; a booting node gets the batch again later, a lost one a warning',
    async () => {
      const online = await launch(2, karpenterTags('booting', 'comfyui-single-gpu'));
      const connectionLost = await launch(1, karpenterTags('booting', 'comfyui-single-gpu'));
      const booting = await launch(1, karpenterTags('booting', 'comfyui-multi-gpu'));
      managed.register(online);
      managed.register(connectionLost, 'ConnectionLost');
      const before = sendCommandRequests().length;

      const response = await syncCluster('booting');

      // SendCommand would have refused the whole chunk for the booting node; it went to the two online ones.
      expect(sendCommandRequests().slice(before).map((c) => c.InstanceIds)).toEqual([sorted(online)]);
      // The record is retried (after the visibility timeout) so the booting node gets the keys once Online.
      expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm' }]);
      expect(logged(bootingMessage(1))).toContainEqual(expect.objectContaining({ booting, nodes: 2 }));
      expect(logged(unreachableMessage(1))).toContainEqual(expect.objectContaining({ unreachable: connectionLost }));

      // The retry, once the node has registered: everyone gets the keys, nothing is left to retry.
      managed.register(booting);
      const retried = await syncCluster('booting');
      expect(retried.batchItemFailures).toEqual([]);
      expect(sendCommandRequests().slice(before).map((c) => c.InstanceIds)).toEqual([sorted(online), sorted([...online, ...booting])]);
    });

  test('sends nothing while every running node is still booting, and has the batch retried', async () => {
    const nodes = await launch(3, karpenterTags('cold-start', 'comfyui-single-gpu'));
    const before = sendCommandRequests().length;

    const response = await syncCluster('cold-start');

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm' }]);
    expect(sendCommandRequests().length).toBe(before);
    expect(logged(bootingMessage(3))).toContainEqual(expect.objectContaining({ booting: sorted(nodes), nodes: 0 }));
  });

  test('sends once more, to the nodes still online, when a node drops out between the check and SendCommand',
    async () => {
      const nodes = await launch(3, karpenterTags('flaky', 'comfyui-single-gpu'));
      managed.register(nodes);
      const [dropped, ...staying] = sorted(nodes);
      managed.dropAfterNextDescribe([dropped]);
      const before = sendCommandRequests().length;

      const response = await syncCluster('flaky');

      expect(response.batchItemFailures).toEqual([]);
      // The first SendCommand (all 3) was refused before reaching moto; the second went to the 2 still online.
      expect(sendCommandRequests().slice(before).map((c) => c.InstanceIds)).toEqual([staying]);
      // Online a moment ago and refused now: shutting down, not booting, so no retry, and a warning.
      expect(logged(unreachableMessage(1))).toContainEqual(expect.objectContaining({ unreachable: [dropped] }));
    });

  test('fails the records that carried changes when SSM refuses the second send too, and sends no third',
    async () => {
      managed.register(await launch(2, karpenterTags('refusing', 'comfyui-single-gpu')));
      proxy.inject(SEND_COMMAND, INVALID_INSTANCE_ID, INVALID_INSTANCE_ID, INVALID_INSTANCE_ID);

      const response = await syncCluster('refusing');

      expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm' }]);
      expect(proxy.pending(SEND_COMMAND)).toBe(1);
      proxy.clear(SEND_COMMAND);
    });
});
