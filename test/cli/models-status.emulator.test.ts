import * as path from 'node:path';
import { CloudWatchLogsClient, CreateLogGroupCommand, CreateLogStreamCommand, PutLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { EXIT } from '../../lib/cli/cli-error';
import { MODEL_SYNC_DOCUMENT_NAME } from '../../lib/names';
import { runCaptured } from '../helpers/captured-comfyctl';
import { MotoServer, startMotoServer } from '../helpers/moto-server';

/** test/fixtures/cdk-outputs.json: region eu-west-1, LambdaModelsSync.ModelSyncLogGroupName /comfyui/studio/model-sync. */
const OUTPUTS = path.join(__dirname, '..', 'fixtures', 'cdk-outputs.json');
const REGION = 'eu-west-1';
const LOG_GROUP = '/comfyui/studio/model-sync';
const DONE = 'done: 1 downloaded (6.0 MiB), 0 deleted; cache holds 1 objects, 6.0 MiB';
const NO_FIT = 'FAILED: the models do not fit: 90.0 GiB to download, 60.0 GiB free';
let moto: MotoServer;

async function writeStream(logs: CloudWatchLogsClient, stream: string, lines: string[], endMs: number): Promise<void> {
  await logs.send(new CreateLogStreamCommand({ logGroupName: LOG_GROUP, logStreamName: stream }));
  await logs.send(new PutLogEventsCommand({
    logGroupName: LOG_GROUP,
    logStreamName: stream,
    logEvents: lines.map((message, i) => ({ message, timestamp: endMs - (lines.length - 1 - i) * 1000 })),
  }));
}

beforeAll(async () => {
  moto = await startMotoServer();
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1' });
  const config = { region: REGION, endpoint: moto.endpoint };
  const ssm = new SSMClient(config);
  const logs = new CloudWatchLogsClient(config);
  // What the sync Lambda sends after a bucket change (lambda/model-sync/planner.ts buildSyncCommands).
  const sync = await ssm.send(new SendCommandCommand({
    DocumentName: MODEL_SYNC_DOCUMENT_NAME,
    InstanceIds: ['i-0aaa', 'i-0bbb'],
    Parameters: { keys: [''] },
    CloudWatchOutputConfig: { CloudWatchOutputEnabled: true, CloudWatchLogGroupName: LOG_GROUP },
  }));
  // Another document's command must not show up as a sync.
  await ssm.send(new SendCommandCommand({ DocumentName: 'AWS-RunShellScript', InstanceIds: ['i-0ddd'], Parameters: { commands: ['uptime'] } }));
  const commandId = sync.Command!.CommandId!;
  const now = Date.now();
  await logs.send(new CreateLogGroupCommand({ logGroupName: LOG_GROUP }));
  await writeStream(logs, `${commandId}/i-0aaa/syncModels/stdout`, [
    '[model-sync] keys sync of s3://studio-comfyui-models: 1 objects listed, 1 to download (6.0 MiB), 0 to delete; 100.0 GiB free',
    '[model-sync] progress: 1/1 files, 6.0 MiB of 6.0 MiB, 30.0 MiB/s',
    `[model-sync] ${DONE}`,
  ], now - 120_000);
  await writeStream(logs, `${commandId}/i-0aaa/syncModels/stderr`, ['a warning on stderr'], now - 110_000);
  // A node whose newest run SSM no longer lists (another command): only its log tells.
  await writeStream(logs, 'c-older-history/i-0ccc/syncModels/stdout', ['[model-sync] full sync of s3://studio-comfyui-models', `[model-sync] ${NO_FIT}`], now - 60_000);
});

afterAll(async () => {
  await moto?.stop();
});

describe('models status', () => {
  test('shows per node the last sync time, result and last summary line, from SSM and the log group in the outputs file', async () => {
    const run = await runCaptured(['models', 'status', '--outputs', OUTPUTS, '--endpoint-url', moto.endpoint]);
    expect(run.code, run.stderr).toBe(0);
    const rows = run.stdout.trimEnd().split('\n').map((line) => line.split(/\s{2,}/));
    expect(rows[0]).toEqual(['NODE', 'LAST SYNC (UTC)', 'RESULT', 'SUMMARY']);
    expect(rows.slice(1).map(([node, time, result, summary]) => [node, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(time), result, summary])).toEqual([
      ['i-0aaa', true, 'Success', DONE],
      ['i-0bbb', true, 'Success', '-'],
      ['i-0ccc', true, 'Failed', NO_FIT],
    ]);
    expect(run.stderr).toBe('');
  });

  test('--json gives scripts the same facts with the SSM status and command id', async () => {
    const run = await runCaptured(['models', 'status', '--json', '--region', REGION, '--log-group', LOG_GROUP, '--outputs', '/nonexistent.json', '--endpoint-url', moto.endpoint]);
    expect(run.code, run.stderr).toBe(0);
    const statuses = JSON.parse(run.stdout);
    expect(statuses).toHaveLength(3);
    expect(statuses[0]).toMatchObject({ instanceId: 'i-0aaa', result: 'Success', ssmStatus: 'Success', summary: DONE, lastSync: expect.any(String) });
    expect(statuses[2]).toEqual({ instanceId: 'i-0ccc', commandId: 'c-older-history', result: 'Failed', summary: NO_FIT, lastSync: expect.any(String) });
  });

  test('still answers from SSM when the log group is missing, with a warning that names it', async () => {
    const run = await runCaptured(['models', 'status', '--region', REGION, '--log-group', '/comfyui/absent/model-sync', '--outputs', '/nonexistent.json', '--endpoint-url', moto.endpoint]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('warning: log group /comfyui/absent/model-sync: not found');
    expect(run.stdout).toContain('i-0aaa');
    expect(run.stdout).not.toContain('i-0ccc');
  });

  test('exits non-zero with what to check when no node reported and the log group is missing', async () => {
    const run = await runCaptured(['models', 'status', '--region', 'us-west-2', '--log-group', LOG_GROUP, '--outputs', '/nonexistent.json', '--endpoint-url', moto.endpoint]);
    expect(run.code).toBe(EXIT.failure);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`warning: log group ${LOG_GROUP}: not found`);
    expect(run.stderr).toContain('no GPU node reported a model sync since');
  });

  test('exits with the unreachable code and says what to check when neither SSM nor CloudWatch answers', async () => {
    const run = await runCaptured(['models', 'status', '--region', REGION, '--log-group', LOG_GROUP, '--outputs', '/nonexistent.json', '--endpoint-url', 'http://127.0.0.1:9']);
    expect(run.code).toBe(EXIT.unreachable);
    expect(run.stderr).toContain('comfyctl: no sync status is reachable:');
    expect(run.stderr).toContain(`SSM commands of ${MODEL_SYNC_DOCUMENT_NAME}: unreachable`);
    expect(run.stderr).toContain(`log group ${LOG_GROUP}: unreachable`);
    expect(run.stderr).toContain('check: AWS credentials and --region');
  });
});
