import { Duration } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { wakeQueueName } from '../names';

/**
 * SQS's shortest retention, 60 s (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/
 * API_SetQueueAttributes.html, MessageRetentionPeriod): a visit counts as demand for about a minute, then expires;
 * KEDA's cooldown keeps the pods afterwards.
 */
export const WAKE_RETENTION = Duration.seconds(60);

export interface WakeQueueProps {
  /** The cluster's name: the queue is named wakeQueueName(clusterName), which KEDA's role builds its ARN from. */
  readonly clusterName: string;
}

/**
 * The wake queue: one message per visit to the wake page; KEDA reads its depth as demand, nobody consumes it.
 * SSE-SQS (free, no KMS key) and TLS-only, like the jobs queues. No dead-letter queue: nothing ever receives a
 * message, so none could fail.
 */
export class WakeQueue extends Construct {
  readonly queue: sqs.Queue;

  constructor(scope: Construct, id: string, props: WakeQueueProps) {
    super(scope, id);
    this.queue = new sqs.Queue(this, 'Queue', {
      queueName: wakeQueueName(props.clusterName),
      retentionPeriod: WAKE_RETENTION,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
  }
}
