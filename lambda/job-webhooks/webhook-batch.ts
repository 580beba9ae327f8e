import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type {
  Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent, SQSBatchResponse, SQSEvent, SQSRecord,
} from 'aws-lambda';
import { firstAttemptOf, MalformedRetryMessageError, parseRetryMessage } from '../../lib/jobs/webhook-delivery';
import { sendWebhook, SendWebhookDeps } from './send-webhook';

function image(value: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  return value === undefined ? undefined : unmarshall(value as Record<string, AttributeValue>);
}

async function processStreamRecord(deps: SendWebhookDeps, record: DynamoDBRecord): Promise<void> {
  const attempt = firstAttemptOf(image(record.dynamodb?.NewImage), image(record.dynamodb?.OldImage));
  if (attempt !== undefined) await sendWebhook(deps, attempt);
}

async function processRetryMessage(deps: SendWebhookDeps, record: SQSRecord): Promise<void> {
  try {
    await sendWebhook(deps, parseRetryMessage(record.body));
  } catch (error) {
    // Retrying a message nobody can read only delays the next one: log it and let it go.
    if (!(error instanceof MalformedRetryMessageError)) throw error;
    deps.logger.error('Dropping malformed webhook retry message', { messageId: record.messageId, reason: error.message });
  }
}

/**
 * Jobs table stream records (first attempts) or webhook retry queue messages (later attempts). Each record
 * succeeds or fails on its own (Powertools partial batch response): a failed stream record is retried by the
 * event source mapping (with bisecting), a failed message reappears after the queue's visibility timeout.
 */
export async function handleWebhookEvent(
  event: DynamoDBStreamEvent | SQSEvent, context: Context, deps: SendWebhookDeps,
): Promise<DynamoDBBatchResponse | SQSBatchResponse> {
  const options = { context, throwOnFullBatchFailure: false };
  if (event.Records.length === 0) return { batchItemFailures: [] };
  if (event.Records[0].eventSource === 'aws:dynamodb') {
    return processPartialResponse(event as DynamoDBStreamEvent, (r: DynamoDBRecord) => processStreamRecord(deps, r),
      new BatchProcessor(EventType.DynamoDBStreams), options);
  }
  return processPartialResponse(event as SQSEvent, (r: SQSRecord) => processRetryMessage(deps, r),
    new BatchProcessor(EventType.SQS), options);
}
