import { Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq, SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { JOB_WEBHOOKS_ENV } from '../../lambda/job-webhooks/settings';
import { TERMINAL_STATUSES } from '../jobs/contract';
import { jobWebhooksStatements } from '../policies/jobs-functions';
import { JobsLambda } from './jobs-lambda';
import { JobsTable } from './jobs-table';

/**
 * A batch of 10 deliveries at 10 s each (docs/jobs.md, "Webhooks") fits even when every receiver times out and
 * they run one after the other; the retry queue's visibility timeout is six times this (JobsQueues).
 */
export const JOB_WEBHOOKS_TIMEOUT = Duration.seconds(120);
const BATCH_SIZE = 10;

/**
 * The stream records that start a delivery: a job's first change to a terminal status, when it has a webhook URL.
 * Every field of one pattern must match (https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html#filtering-ddb):
 * the new image's status is terminal and it holds `webhook_url` as a string, and the old image's status is not
 * terminal. An INSERT (no old image), a TTL or other delete (no new image) and every later update of a finished job,
 * such as the sender's own `webhook_state`, match nothing, so the sender never triggers itself.
 */
export const WEBHOOK_STREAM_FILTER = {
  dynamodb: {
    NewImage: {
      status: { S: [...TERMINAL_STATUSES] },
      webhook_url: { S: [{ exists: true }] },
    },
    OldImage: {
      status: { S: [{ 'anything-but': [...TERMINAL_STATUSES] }] },
    },
  },
};

export interface JobWebhooksFunctionProps {
  readonly table: JobsTable;
  /** Deliveries to retry, sent by this function with a growing DelaySeconds and consumed by it. */
  readonly retryQueue: sqs.IQueue;
  /** Where stream batches this function itself kept failing on go, to be looked at. */
  readonly failedDeliveries: sqs.IQueue;
}

/**
 * lambda/job-webhooks: signs and sends each finished job's webhook, from the table's stream (filtered above) and
 * from its retry queue. Both sources report batch item failures, so one bad record does not resend the batch.
 * Concurrency is bounded without reserving any (see JobsApiFunction): the stream by its shards (one batch per
 * shard at a time), the retry queue by the event source's maximum concurrency.
 */
export class JobWebhooksFunction extends Construct {
  readonly function: lambda.IFunction;

  constructor(scope: Construct, id: string, props: JobWebhooksFunctionProps) {
    super(scope, id);
    const { table } = props.table;
    const sender = new JobsLambda(this, 'Webhooks', {
      lambdaFolder: 'job-webhooks',
      description: 'Job webhooks: read the owner secret, record webhook_state, schedule retries',
      statements: jobWebhooksStatements({ tableArn: table.tableArn, retryQueueArn: props.retryQueue.queueArn }),
      environment: {
        [JOB_WEBHOOKS_ENV.tableName]: table.tableName,
        [JOB_WEBHOOKS_ENV.retryQueueUrl]: props.retryQueue.queueUrl,
      },
      timeout: JOB_WEBHOOKS_TIMEOUT,
    });
    this.function = sender.function;
    this.function.addEventSource(
      new DynamoEventSource(table, {
        startingPosition: lambda.StartingPosition.LATEST,
        batchSize: BATCH_SIZE,
        filters: [lambda.FilterCriteria.filter(WEBHOOK_STREAM_FILTER)],
        reportBatchItemFailures: true,
        bisectBatchOnError: true,
        // The function records a receiver's refusal itself; these retries are for its own failures (throttling, a
        // DynamoDB error), after which the records go to failedDeliveries instead of blocking the shard.
        retryAttempts: 3,
        onFailure: new SqsDlq(props.failedDeliveries),
      }),
    );
    this.function.addEventSource(
      new SqsEventSource(props.retryQueue, { batchSize: BATCH_SIZE, reportBatchItemFailures: true, maxConcurrency: 2 }),
    );
  }
}
