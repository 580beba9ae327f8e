import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient, DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { randomUUID } from 'node:crypto';
import type { Env } from '../../lib/jobs/env';
import { JOBS } from '../../lib/jobs/contract';
import { JobsApiConfig, readJobsApiConfig } from './config';
import { JobStore } from './job-store';
import { TemplateStore } from './template-store';
import { WebhookSecretStore } from './webhook-secret-store';

/** Everything the API's operations use: stores, the queue, the presigner, a clock and ids (tests may replace them). */
export interface JobsApiDeps {
  readonly config: JobsApiConfig;
  readonly jobs: JobStore;
  readonly templates: TemplateStore;
  readonly secrets: WebhookSecretStore;
  /** Sends `{"job_id": id}` to the jobs queue. */
  readonly enqueueJob: (jobId: string) => Promise<void>;
  /** A presigned GET URL of an outputs-bucket key, valid for config.outputUrlSeconds. */
  readonly outputUrl: (key: string) => Promise<string>;
  readonly now: () => number;
  readonly newJobId: () => string;
  readonly logger: Logger;
}

/** SDK client settings shared by the function's clients; empty in Lambda (the standard chain and region). */
export type ClientConfig = Pick<DynamoDBClientConfig, 'endpoint' | 'region' | 'credentials'> & { forcePathStyle?: boolean };

export function documentClient(clientConfig: ClientConfig): DynamoDBDocumentClient {
  // Job items may hold optional attributes left undefined by the code that builds them.
  return DynamoDBDocumentClient.from(new DynamoDBClient(clientConfig), { marshallOptions: { removeUndefinedValues: true } });
}

/** Reads the environment and creates the clients once; SDK clients make no request until used. */
export function createJobsApiDeps(env: Env, clientConfig: ClientConfig = {}): JobsApiDeps {
  const config = readJobsApiConfig(env);
  const db = documentClient(clientConfig);
  const s3 = new S3Client(clientConfig);
  const sqs = new SQSClient(clientConfig);
  return {
    config,
    jobs: new JobStore(db, config.tableName),
    templates: new TemplateStore(s3, config.templatesBucket),
    secrets: new WebhookSecretStore(db, config.tableName),
    enqueueJob: async (jobId) => {
      await sqs.send(new SendMessageCommand({
        QueueUrl: config.queueUrl, MessageBody: JSON.stringify({ [JOBS.queueMessage.jobIdField]: jobId }),
      }));
    },
    outputUrl: (key) => getSignedUrl(s3, new GetObjectCommand({ Bucket: config.outputsBucket, Key: key }), {
      expiresIn: config.outputUrlSeconds,
    }),
    now: () => Date.now(),
    newJobId: () => randomUUID(),
    logger: new Logger({ serviceName: 'comfyui-jobs-api' }),
  };
}
