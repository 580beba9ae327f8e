import { Logger } from '@aws-lambda-powertools/logger';
import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { ModelSyncConfig, readConfig } from './config';
import { syncBatch } from './sync-batch';

// Created once per execution environment. The clients use the standard SDK configuration only
// (AWS_REGION, AWS_ENDPOINT_URL, credentials chain); the standard retry strategy backs off on throttling,
// given more attempts here because a burst of uploads can meet a busy SSM API.
const logger = new Logger({ serviceName: 'comfyui-model-sync' });
const ec2 = new EC2Client({ maxAttempts: 8 });
const ssm = new SSMClient({ maxAttempts: 8 });
let config: ModelSyncConfig | undefined;

/** SQS batch of models-bucket notifications -> one SSM fan-out to the cluster's GPU nodes. */
export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  config ??= readConfig(process.env);
  return syncBatch(event, context, { logger, ec2, ssm, config });
};
