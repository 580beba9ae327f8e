import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';

/**
 * Placeholder until the model-sync issue lands its planner and SSM fan-out: it accepts every record
 * so notifications do not pile up in the dead-letter queue, and says so in its log.
 */
export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  console.log(JSON.stringify({ message: 'model-sync fan-out not implemented yet; records acknowledged', records: event.Records.length }));
  return { batchItemFailures: [] };
}
