import { Logger } from '@aws-lambda-powertools/logger';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createDeadLetterDeps, DeadLetterDeps, markDeadLetters } from './dead-letter-batch';

const logger = new Logger({ serviceName: 'comfyui-jobs-dead-letter' });
let deps: DeadLetterDeps | undefined;

/** Messages of the jobs DLQ -> their jobs marked failed (delivery_failed) unless already finished. */
export const handler = (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
  markDeadLetters(event, context, deps ??= createDeadLetterDeps(process.env, logger));
