import { randomBytes } from 'node:crypto';
import {
  CreateTableCommand, DescribeTableCommand, DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { CreateBucketCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { JOBS } from '../../lib/jobs/contract';
import { JOBS_API_ENV } from '../../lambda/jobs-api/settings';
import { JOB_WEBHOOKS_ENV } from '../../lambda/job-webhooks/settings';
import { MotoServer, startMotoServer } from './moto-server';

/** How the tests' SDK clients reach the emulator: explicit, so no test has to change process.env. */
export interface EmulatorClientConfig {
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly forcePathStyle: true;
}

/** The jobs stack's resources, created in a moto server, and the environment its functions get. */
export interface JobsBackend {
  readonly clientConfig: EmulatorClientConfig;
  readonly tableName: string;
  readonly tableStreamArn: string;
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
  readonly webhookRetryQueueUrl: string;
  readonly templatesBucket: string;
  readonly outputsBucket: string;
  /**
   * Environment of the jobs API, webhook and dead-letter functions (their settings.ts names), plus the SDK's
   * standard AWS_ENDPOINT_URL / AWS_REGION / credentials pointing at the emulator. WEBHOOK_ALLOW_HTTP is true
   * so loopback receivers work.
   */
  readonly env: Readonly<Record<string, string>>;
}

const REGION = 'us-west-2';
// Matches the runner's visibility timeout; maxReceiveCount 5 as docs/jobs.md's dead-letter transition says.
const MAX_RECEIVE_COUNT = 5;

export function emulatorClientConfig(endpoint: string): EmulatorClientConfig {
  return {
    endpoint,
    region: REGION,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    forcePathStyle: true,
  };
}

/**
 * Creates the jobs table (contract keys, byOwner GSI, stream NEW_AND_OLD_IMAGES), the jobs queue with its DLQ,
 * the webhook retry queue, a versioned templates bucket and an outputs bucket in the moto server at `endpoint`.
 * Names carry a random suffix, so several backends can share one server.
 */
export async function createJobsBackend(endpoint: string): Promise<JobsBackend> {
  const clientConfig = emulatorClientConfig(endpoint);
  const suffix = randomBytes(4).toString('hex');
  const dynamodb = new DynamoDBClient(clientConfig);
  const sqs = new SQSClient(clientConfig);
  const s3 = new S3Client(clientConfig);
  const { table } = JOBS;

  const tableName = `comfyui-jobs-${suffix}`;
  await dynamodb.send(new CreateTableCommand({
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: table.partitionKey, AttributeType: 'S' },
      { AttributeName: table.ownerIndexPartitionKey, AttributeType: 'S' },
      { AttributeName: table.ownerIndexSortKey, AttributeType: 'N' },
    ],
    KeySchema: [{ AttributeName: table.partitionKey, KeyType: 'HASH' }],
    GlobalSecondaryIndexes: [{
      IndexName: table.ownerIndexName,
      KeySchema: [
        { AttributeName: table.ownerIndexPartitionKey, KeyType: 'HASH' },
        { AttributeName: table.ownerIndexSortKey, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    }],
    StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
  }));
  const described = await dynamodb.send(new DescribeTableCommand({ TableName: tableName }));

  const deadLetterQueueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `comfyui-jobs-dlq-${suffix}` }))).QueueUrl!;
  const dlqArn = (await sqs.send(new GetQueueAttributesCommand({
    QueueUrl: deadLetterQueueUrl, AttributeNames: ['QueueArn'],
  }))).Attributes!.QueueArn!;
  const queueUrl = (await sqs.send(new CreateQueueCommand({
    QueueName: `comfyui-jobs-${suffix}`,
    Attributes: {
      VisibilityTimeout: String(JOBS.runner.visibilityTimeoutSeconds),
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: MAX_RECEIVE_COUNT }),
    },
  }))).QueueUrl!;
  const webhookRetryQueueUrl = (await sqs.send(new CreateQueueCommand({
    QueueName: `comfyui-job-webhooks-${suffix}`,
  }))).QueueUrl!;

  const templatesBucket = `comfyui-templates-${suffix}`;
  const outputsBucket = `comfyui-outputs-${suffix}`;
  for (const bucket of [templatesBucket, outputsBucket]) {
    await s3.send(new CreateBucketCommand({
      Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: REGION },
    }));
  }
  await s3.send(new PutBucketVersioningCommand({
    Bucket: templatesBucket, VersioningConfiguration: { Status: 'Enabled' },
  }));
  for (const client of [dynamodb, sqs, s3]) client.destroy();

  return {
    clientConfig,
    tableName,
    tableStreamArn: described.Table!.LatestStreamArn!,
    queueUrl,
    deadLetterQueueUrl,
    webhookRetryQueueUrl,
    templatesBucket,
    outputsBucket,
    env: {
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: clientConfig.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: clientConfig.credentials.secretAccessKey,
      [JOBS_API_ENV.tableName]: tableName,
      [JOBS_API_ENV.queueUrl]: queueUrl,
      [JOBS_API_ENV.templatesBucketName]: templatesBucket,
      [JOBS_API_ENV.outputsBucketName]: outputsBucket,
      [JOBS_API_ENV.webhookAllowHttp]: 'true',
      [JOB_WEBHOOKS_ENV.retryQueueUrl]: webhookRetryQueueUrl,
    },
  };
}

/** A moto server of its own with the jobs backend in it; `stop` ends the server. */
export async function startJobsBackend(): Promise<JobsBackend & { readonly moto: MotoServer; stop(): Promise<void> }> {
  const moto = await startMotoServer();
  try {
    const backend = await createJobsBackend(moto.endpoint);
    return { ...backend, moto, stop: () => moto.stop() };
  } catch (error) {
    await moto.stop();
    throw error;
  }
}
