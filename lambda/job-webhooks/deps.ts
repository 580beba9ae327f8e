import { Logger } from '@aws-lambda-powertools/logger';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Env } from '../../lib/jobs/env';
import { retryMessageBody } from '../../lib/jobs/webhook-delivery';
import { ClientConfig, documentClient } from '../jobs-api/deps';
import { WebhookSecretStore } from '../jobs-api/webhook-secret-store';
import { readJobWebhooksConfig } from './config';
import type { SendWebhookDeps } from './send-webhook';
import { WebhookStateStore } from './webhook-state-store';

/** Reads the environment and creates the clients once (no request until used). */
export function createJobWebhooksDeps(env: Env, clientConfig: ClientConfig = {}): SendWebhookDeps {
  const config = readJobWebhooksConfig(env);
  const db = documentClient(clientConfig);
  const sqs = new SQSClient(clientConfig);
  return {
    config,
    jobs: new WebhookStateStore(db, config.tableName),
    secrets: new WebhookSecretStore(db, config.tableName),
    scheduleRetry: async (next, delaySeconds) => {
      await sqs.send(new SendMessageCommand({ QueueUrl: config.retryQueueUrl, MessageBody: retryMessageBody(next), DelaySeconds: delaySeconds }));
    },
    now: () => Date.now(),
    logger: new Logger({ serviceName: 'comfyui-job-webhooks' }),
  };
}
