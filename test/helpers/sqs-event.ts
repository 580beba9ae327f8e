import type { SQSEvent } from 'aws-lambda';

/** An SQS event as the Lambda event source mapping delivers it: one record per message id and body. */
export function sqsEvent(bodies: Record<string, string>): SQSEvent {
  return {
    Records: Object.entries(bodies).map(([messageId, body]) => ({
      messageId,
      receiptHandle: `rh-${messageId}`,
      body,
      attributes: {} as any,
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-west-2:123456789012:model-sync',
      awsRegion: 'us-west-2',
    })),
  };
}
