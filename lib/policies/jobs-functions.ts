import * as iam from 'aws-cdk-lib/aws-iam';
import { objectsUnder } from './key-folder';
import { JOBS } from '../jobs/contract';

/**
 * The jobs Lambda functions' own calls (docs/jobs.md). What their event sources need (stream and queue reads)
 * CDK's event sources grant beside these; the queues use SSE-SQS and the table and buckets AWS-owned or S3-managed
 * keys, so no statement names KMS (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/
 * sqs-server-side-encryption.html: SQS-managed keys need no KMS permission).
 */

export interface JobsApiScope {
  readonly tableArn: string;
  /** The byOwner index (JOBS.table.ownerIndexName): the list of a user's jobs. */
  readonly ownerIndexArn: string;
  readonly queueArn: string;
  readonly templatesBucketArn: string;
  /** `templates/` (JOBS.templatesKeyPrefix). */
  readonly templatesKeyPrefix: string;
  readonly outputsBucketArn: string;
  /** `jobs/` (JOBS.outputsKeyPrefix). */
  readonly outputsKeyPrefix: string;
}

/**
 * The jobs API (lambda/jobs-api/job-store.ts): reads and writes the three item kinds, including TransactWriteItems
 * (the submit's job and idempotency Puts; on a queue failure the job's Update and the idempotency item's Delete),
 * which IAM authorizes per item action (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/
 * transaction-apis-iam.html); queries and (admins, every owner) scans the byOwner index; sends `{"job_id"}` to the jobs queue; publishes, reads, lists and deletes templates under `templates/`
 * (ListBucket limited to that prefix by s3:prefix, https://docs.aws.amazon.com/AmazonS3/latest/userguide/
 * amazon-s3-policy-keys.html); and presigns output downloads under `jobs/`, which S3 honours only while the
 * signer may GetObject.
 */
export function jobsApiStatements(scope: JobsApiScope): iam.PolicyStatement[] {
  const templates = objectsUnder(scope.templatesBucketArn, scope.templatesKeyPrefix);
  return [
    new iam.PolicyStatement({
      sid: 'JobItems',
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:ConditionCheckItem'],
      resources: [scope.tableArn],
    }),
    new iam.PolicyStatement({
      sid: 'JobsByOwner',
      // Query for one owner's jobs; Scan of the (sparse, jobs-only) index for an admin's `owner=*`.
      actions: ['dynamodb:Query', 'dynamodb:Scan'],
      resources: [scope.ownerIndexArn],
    }),
    new iam.PolicyStatement({
      sid: 'QueueJobs',
      actions: ['sqs:SendMessage'],
      resources: [scope.queueArn],
    }),
    new iam.PolicyStatement({
      sid: 'Templates',
      actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
      resources: [templates],
    }),
    new iam.PolicyStatement({
      sid: 'ListTemplates',
      actions: ['s3:ListBucket'],
      resources: [scope.templatesBucketArn],
      conditions: { StringLike: { 's3:prefix': [`${scope.templatesKeyPrefix}*`] } },
    }),
    new iam.PolicyStatement({
      sid: 'PresignJobOutputs',
      actions: ['s3:GetObject'],
      resources: [objectsUnder(scope.outputsBucketArn, scope.outputsKeyPrefix)],
    }),
  ];
}

export interface JobWebhooksScope {
  readonly tableArn: string;
  readonly retryQueueArn: string;
}

/**
 * The webhook sender: reads the owner's secret (user item) and records `webhook_state` / `webhook_attempts` on the
 * job; schedules a retry by sending to the retry queue with a DelaySeconds (its consumption is the event source's).
 */
export function jobWebhooksStatements(scope: JobWebhooksScope): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({
      sid: 'WebhookState',
      actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      resources: [scope.tableArn],
    }),
    // The sender signs with the owner's secret and creates it when the user never read one (so a later
    // GET /webhook-secret returns the secret that signed); only user items (`user#<name>`) may be put.
    new iam.PolicyStatement({
      sid: 'CreateWebhookSecret',
      actions: ['dynamodb:PutItem'],
      resources: [scope.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${JOBS.table.userKeyPrefix}*`] } },
    }),
    new iam.PolicyStatement({
      sid: 'ScheduleRetry',
      actions: ['sqs:SendMessage'],
      resources: [scope.retryQueueArn],
    }),
  ];
}

/** The dead-letter handler: one conditional UpdateItem per dead job (non-terminal -> failed, delivery_failed). */
export function jobsDeadLetterStatements(scope: { readonly tableArn: string }): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({
      sid: 'FailDeadJobs',
      actions: ['dynamodb:UpdateItem'],
      resources: [scope.tableArn],
    }),
  ];
}
