import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createJobWebhooksDeps } from './deps';
import type { SendWebhookDeps } from './send-webhook';
import { handleWebhookEvent } from './webhook-batch';

let deps: SendWebhookDeps | undefined;

/** Jobs table stream records and webhook retry messages -> signed webhook deliveries (docs/jobs.md, "Webhooks"). */
export const handler = (event: DynamoDBStreamEvent | SQSEvent, context: Context): Promise<DynamoDBBatchResponse | SQSBatchResponse> =>
  handleWebhookEvent(event, context, deps ??= createJobWebhooksDeps(process.env));
