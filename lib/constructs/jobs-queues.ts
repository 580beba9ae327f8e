import { Duration } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { JOBS } from '../jobs/contract';

/**
 * Receives before a message moves to its dead-letter queue: docs/jobs.md's dead-letter rule ("the jobs DLQ received
 * it (5 receives)"). A runner that hands a job back on SIGTERM spends one receive too, so 5 leaves room for a few
 * rollouts while a job that crashes every runner still ends `failed`.
 */
export const MAX_RECEIVE_COUNT = 5;

/** The longest SQS keeps a message (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html). */
const MAX_RETENTION = Duration.days(14);

export interface JobsQueuesProps {
  /**
   * The jobs queue's fixed name (jobsQueueName of lib/names.ts): KEDA's role in the cluster stack builds the queue's
   * ARN from it, without an export. The other queues keep generated names: nothing outside this stack names them.
   */
  readonly jobsQueueName: string;
  /**
   * How long the webhook function may run on one batch; the retry queue's visibility timeout is six times it, as
   * AWS advises for a queue a function consumes (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html),
   * and Lambda refuses an event source whose queue's is shorter than the function's timeout.
   */
  readonly webhookFunctionTimeout: Duration;
  /** How long the dead-letter function may run on one batch; the jobs DLQ's visibility timeout is six times it. */
  readonly deadLetterFunctionTimeout: Duration;
}

/**
 * The jobs queue, which the job runner long-polls, and the webhook retry queue, which the webhook function feeds
 * itself with growing delays; each with a dead-letter queue. SSE-SQS (free, no KMS key) and TLS-only.
 */
export class JobsQueues extends Construct {
  readonly jobs: sqs.Queue;
  /** Jobs whose message was received 5 times without finishing: the dead-letter function fails them. */
  readonly jobsDeadLetter: sqs.Queue;
  readonly webhookRetries: sqs.Queue;
  /**
   * What the webhook function itself kept failing on (not a receiver's refusal, which it records as the job's
   * webhook_state): retries received 5 times, and the stream batches it gave up on (their shard and sequence
   * numbers, as Lambda's on-failure destination writes them). Kept 14 days to inspect.
   */
  readonly webhookRetriesDeadLetter: sqs.Queue;

  constructor(scope: Construct, id: string, props: JobsQueuesProps) {
    super(scope, id);
    this.jobsDeadLetter = queue(this, 'JobsDeadLetter', { visibilityTimeout: sixTimes(props.deadLetterFunctionTimeout) });
    this.jobs = queue(this, 'Jobs', {
      queueName: props.jobsQueueName,
      // The runner extends it while a job runs (docs/jobs.md); a runner that dies lets the job reappear after it.
      visibilityTimeout: Duration.seconds(JOBS.runner.visibilityTimeoutSeconds),
      // A job may wait this long for a GPU (none running, comfyuiReplicas 0) before its message expires: the most SQS keeps.
      retentionPeriod: MAX_RETENTION,
      deadLetterQueue: { queue: this.jobsDeadLetter, maxReceiveCount: MAX_RECEIVE_COUNT },
    });
    this.webhookRetriesDeadLetter = queue(this, 'WebhookRetriesDeadLetter', {});
    this.webhookRetries = queue(this, 'WebhookRetries', {
      visibilityTimeout: sixTimes(props.webhookFunctionTimeout),
      deadLetterQueue: { queue: this.webhookRetriesDeadLetter, maxReceiveCount: MAX_RECEIVE_COUNT },
    });
  }
}

function sixTimes(functionTimeout: Duration): Duration {
  return Duration.seconds(functionTimeout.toSeconds() * 6);
}

function queue(scope: Construct, id: string, props: sqs.QueueProps): sqs.Queue {
  return new sqs.Queue(scope, id, {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    // As long as SQS allows: a dead letter waits to be looked at, a retry for its delay.
    retentionPeriod: MAX_RETENTION,
    ...props,
  });
}
