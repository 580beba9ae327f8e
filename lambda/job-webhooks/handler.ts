import type { DynamoDBStreamEvent, SQSBatchResponse, SQSEvent } from 'aws-lambda';

/** Jobs table stream records and webhook retry messages -> signed webhook deliveries. Placeholder. */
export const handler = async (_event: DynamoDBStreamEvent | SQSEvent): Promise<SQSBatchResponse> => ({
  batchItemFailures: [],
});
