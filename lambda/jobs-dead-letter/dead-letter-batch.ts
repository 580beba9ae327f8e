import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { isPlainObject } from '../../lib/jobs/api-error';
import { JOBS } from '../../lib/jobs/contract';
import { Env, requiredEnv } from '../../lib/jobs/env';
import { ClientConfig, documentClient } from '../jobs-api/deps';
import { JobStore } from '../jobs-api/job-store';
import { JOBS_DEAD_LETTER_ENV } from './settings';

export interface DeadLetterDeps {
  readonly jobs: Pick<JobStore, 'failUnlessTerminal'>;
  readonly now: () => number;
  readonly logger: Logger;
}

export function createDeadLetterDeps(env: Env, logger: Logger, clientConfig: ClientConfig = {}): DeadLetterDeps {
  const tableName = requiredEnv(env, JOBS_DEAD_LETTER_ENV.tableName, 'the jobs DynamoDB table name');
  return { jobs: new JobStore(documentClient(clientConfig), tableName), now: () => Date.now(), logger };
}

/** The job id of a jobs-queue message (`{"job_id": ...}`), or undefined for anything else. */
export function deadJobIdOf(body: string): string | undefined {
  try {
    const value = JSON.parse(body);
    const id = isPlainObject(value) ? value[JOBS.queueMessage.jobIdField] : undefined;
    return typeof id === 'string' && id !== '' ? id : undefined;
  } catch {
    return undefined;
  }
}

async function markDead(deps: DeadLetterDeps, record: SQSRecord): Promise<void> {
  const jobId = deadJobIdOf(record.body);
  if (jobId === undefined) {
    // Nothing to mark and nothing a retry could change: log it for the operator and let it go.
    deps.logger.error('Dead-lettered message is not a job message', { messageId: record.messageId, body: record.body.slice(0, 200) });
    return;
  }
  const receives = record.attributes?.ApproximateReceiveCount;
  const failed = await deps.jobs.failUnlessTerminal(jobId, deps.now(), {
    type: 'delivery_failed',
    exception_message: `No job runner completed the job after the jobs queue delivered it ${receives ?? 'several'} times; it was moved to the dead-letter queue`,
  });
  if (failed === undefined) deps.logger.info('Dead-lettered job is already finished or gone', { jobId });
  else deps.logger.warn('Dead-lettered job marked failed (delivery_failed)', { jobId });
}

/**
 * Messages of the jobs DLQ (the jobs queue moved them after 5 receives) -> their jobs failed with
 * execution_error.type "delivery_failed", unless the job already finished (docs/jobs.md, "State machine").
 */
export function markDeadLetters(event: SQSEvent, context: Context, deps: DeadLetterDeps): Promise<SQSBatchResponse> {
  return processPartialResponse(event, (r: SQSRecord) => markDead(deps, r), new BatchProcessor(EventType.SQS), {
    context, throwOnFullBatchFailure: false,
  });
}
