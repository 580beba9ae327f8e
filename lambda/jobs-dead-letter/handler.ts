import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';

/** Messages of the jobs DLQ -> their jobs marked failed (delivery_failed). Placeholder. */
export const handler = async (_event: SQSEvent): Promise<SQSBatchResponse> => ({ batchItemFailures: [] });
