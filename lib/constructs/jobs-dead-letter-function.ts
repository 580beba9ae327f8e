import { Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { JOBS_DEAD_LETTER_ENV } from '../../lambda/jobs-dead-letter/settings';
import { jobsDeadLetterStatements } from '../policies/jobs-functions';
import { JobsLambda } from './jobs-lambda';
import { JobsTable } from './jobs-table';

/** One conditional UpdateItem per message, at most 10 messages a batch. */
export const JOBS_DEAD_LETTER_TIMEOUT = Duration.seconds(30);

export interface JobsDeadLetterFunctionProps {
  readonly table: JobsTable;
  /** The jobs queue's dead-letter queue. */
  readonly deadLetterQueue: sqs.IQueue;
}

/**
 * lambda/jobs-dead-letter: a job whose message was received 5 times without finishing (its runner kept dying, or
 * nobody could run it) is turned `failed` with `execution_error.type = "delivery_failed"` unless it already
 * finished (docs/jobs.md, state machine). Two concurrent batches at most (the event source's minimum): dead letters
 * are rare and nothing waits on them.
 */
export class JobsDeadLetterFunction extends Construct {
  readonly function: lambda.IFunction;

  constructor(scope: Construct, id: string, props: JobsDeadLetterFunctionProps) {
    super(scope, id);
    const { table } = props.table;
    const handler = new JobsLambda(this, 'DeadLetter', {
      lambdaFolder: 'jobs-dead-letter',
      description: 'Jobs dead letters: fail the job of each message the jobs queue gave up on',
      statements: jobsDeadLetterStatements({ tableArn: table.tableArn }),
      environment: { [JOBS_DEAD_LETTER_ENV.tableName]: table.tableName },
      timeout: JOBS_DEAD_LETTER_TIMEOUT,
    });
    this.function = handler.function;
    this.function.addEventSource(
      new SqsEventSource(props.deadLetterQueue, { batchSize: 10, reportBatchItemFailures: true, maxConcurrency: 2 }),
    );
  }
}
