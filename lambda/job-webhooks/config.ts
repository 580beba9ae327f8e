import { booleanEnv, Env, requiredEnv } from '../../lib/jobs/env';
import { JOB_WEBHOOKS_ENV } from './settings';

/** What the webhook sender needs to know, read once from its environment (names: settings.ts). */
export interface JobWebhooksConfig {
  readonly tableName: string;
  readonly retryQueueUrl: string;
  readonly allowHttpWebhooks: boolean;
}

export function readJobWebhooksConfig(env: Env): JobWebhooksConfig {
  return {
    tableName: requiredEnv(env, JOB_WEBHOOKS_ENV.tableName, 'the jobs DynamoDB table name'),
    retryQueueUrl: requiredEnv(env, JOB_WEBHOOKS_ENV.retryQueueUrl, 'the webhook retry SQS queue URL'),
    allowHttpWebhooks: booleanEnv(env, JOB_WEBHOOKS_ENV.webhookAllowHttp),
  };
}
