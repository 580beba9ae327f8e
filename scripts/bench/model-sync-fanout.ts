/**
 * Benchmark: fan-out efficiency of the model-sync Lambda. For a burst of N uploads across M GPU nodes it
 * runs the real handler against the moto emulator (EC2 + SSM on 127.0.0.1; the nodes' SSM registration,
 * which moto lacks, from ManagedNodes in a proxy in front of it), one SQS batch per 1,000 notifications as
 * the event source mapping delivers them, and counts the SendCommand calls moto received. Expected:
 * ceil(M / 50) per batch, whatever N.
 *
 *   npx tsx scripts/bench/model-sync-fanout.ts
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import type { Context } from 'aws-lambda';
import { startFaultProxy } from '../../test/helpers/fault-proxy';
import { karpenterTags, launchInstances } from '../../test/helpers/gpu-nodes';
import { recordedCalls, startMotoServer } from '../../test/helpers/moto-server';
import { s3NotificationBody } from '../../test/helpers/s3-notifications';
import { ManagedNodes } from '../../test/helpers/ssm-managed-nodes';
import { sqsEvent } from '../../test/helpers/sqs-event';

const BUCKET = 'comfyui-models-123456789012-us-west-2';
const SQS_BATCH = 1000; // the event source mapping's batch size (lib/constructs/model-sync-function.ts)
const SCENARIOS: Array<[uploads: number, nodes: number]> = [[1, 1], [1000, 10], [1000, 50], [1000, 51], [1000, 200], [5000, 120]];

async function main(): Promise<void> {
  const moto = await startMotoServer();
  const proxy = await startFaultProxy(moto.endpoint);
  const managed = new ManagedNodes(proxy);
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: proxy.endpoint, AWS_REGION: 'us-west-2', AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench',
    MODELS_BUCKET: BUCKET, CLUSTER_NAME: 'comfyui', NODE_POOLS: 'comfyui-single-gpu,comfyui-multi-gpu',
    SYNC_DOCUMENT_NAME: 'ComfyUI-SyncModels', SYNC_LOG_GROUP: '/comfyui/comfyui/model-sync', POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
  const { handler } = await import('../../lambda/model-sync/handler');
  const ec2 = new EC2Client({});
  const rows: string[] = [];
  try {
    for (const [uploads, nodes] of SCENARIOS) {
      await fetch(`${moto.endpoint}/moto-api/reset`, { method: 'POST' });
      managed.register(await launchInstances(ec2, nodes, karpenterTags('comfyui', 'comfyui-single-gpu')));
      const before = recordedCalls(moto, 'AmazonSSM.SendCommand').length;
      const started = performance.now();
      let batches = 0;
      for (let first = 0; first < uploads; first += SQS_BATCH) {
        const count = Math.min(SQS_BATCH, uploads - first);
        const event = sqsEvent(Object.fromEntries(Array.from({ length: count }, (_, i) => [
          `m${first + i}`, s3NotificationBody([{ key: `loras/upload-${first + i}.safetensors` }], BUCKET),
        ])));
        const response = await handler(event, { awsRequestId: `b${batches}` } as Context);
        if (response.batchItemFailures.length) throw new Error(`batch ${batches} reported failures`);
        batches += 1;
      }
      const ms = performance.now() - started;
      const calls = recordedCalls(moto, 'AmazonSSM.SendCommand').slice(before);
      const reached = new Set(calls.flatMap((c) => c.InstanceIds)).size;
      const expected = batches * Math.ceil(nodes / 50);
      rows.push(`| ${uploads} | ${nodes} | ${batches} | ${calls.length} | ${expected} | ${reached} | ${ms.toFixed(0)} |`);
      console.error(`uploads=${uploads} nodes=${nodes}: ${calls.length} SendCommand calls (expected ${expected})`);
    }
  } finally {
    await proxy.close();
    await moto.stop();
  }
  console.log('| uploads | GPU nodes | SQS batches | SendCommand calls | expected batches x ceil(nodes/50) | nodes reached | handler ms |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|');
  for (const row of rows) console.log(row);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
