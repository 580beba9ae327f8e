import { CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { AppConfig } from '../config';
import { JobRunnerAccess } from '../constructs/job-runner-access';
import { JOB_WEBHOOKS_TIMEOUT, JobWebhooksFunction } from '../constructs/job-webhooks-function';
import { JobsApiFunction } from '../constructs/jobs-api-function';
import { JOBS_DEAD_LETTER_TIMEOUT, JobsDeadLetterFunction } from '../constructs/jobs-dead-letter-function';
import { JobsQueues } from '../constructs/jobs-queues';
import { JobsTable } from '../constructs/jobs-table';
import { SecureBucket } from '../constructs/secure-bucket';
import { JOBS } from '../jobs/contract';
import { defaultTemplatesBucketName, jobsQueueName, OUTPUT_KEYS } from '../names';

export interface JobsStackProps extends StackProps {
  readonly config: AppConfig;
}

/**
 * `ComfyuiJobs`: durable jobs and templates (docs/jobs.md). The table, the queues, the API behind its function URL
 * (CloudFrontEntry routes `/render-api/*` to it), the webhook and dead-letter functions, the templates bucket, and
 * the job runner's Pod Identity role. Deployed after the cluster (the association names it) and before CloudFront
 * (which takes the function URL). Idle it costs nothing but storage: on-demand table, queues and functions.
 */
export class JobsStack extends Stack {
  /** The jobs API's function URL: CloudFront's origin for JOBS_API_PATH_PATTERN. */
  readonly apiUrl: lambda.FunctionUrl;

  constructor(scope: Construct, id: string, props: JobsStackProps) {
    super(scope, id, props);
    const { config } = props;

    const table = new JobsTable(this, 'Table', { dataRemovalPolicy: config.dataRemovalPolicy });
    const queues = new JobsQueues(this, 'Queues', {
      jobsQueueName: jobsQueueName(config.clusterName),
      webhookFunctionTimeout: JOB_WEBHOOKS_TIMEOUT,
      deadLetterFunctionTimeout: JOBS_DEAD_LETTER_TIMEOUT,
    });
    const templatesBucketName = defaultTemplatesBucketName(config.account, config.region);
    new SecureBucket(this, 'Templates', {
      bucketName: templatesBucketName,
      // Republishing or deleting a template leaves the old object restorable for noncurrentVersionDays (30).
      versioned: true,
      dataRemovalPolicy: config.dataRemovalPolicy,
      accessLogs: config.bucketAccessLogs,
      adoptExisting: config.adoptRetainedData,
    });

    const api = new JobsApiFunction(this, 'Api', {
      table,
      queue: queues.jobs,
      // By name: the same grants whether the bucket was created above or adopted (adoptRetainedData).
      templatesBucketName,
      outputsBucketName: config.outputsBucketName,
      admins: config.jobsAdmins,
      retentionDays: config.jobsRetentionDays,
    });
    this.apiUrl = api.functionUrl;
    new JobWebhooksFunction(this, 'Webhooks', {
      table,
      retryQueue: queues.webhookRetries,
      failedDeliveries: queues.webhookRetriesDeadLetter,
    });
    new JobsDeadLetterFunction(this, 'DeadLetter', { table, deadLetterQueue: queues.jobsDeadLetter });
    new JobRunnerAccess(this, 'RunnerAccess', {
      clusterName: config.clusterName,
      queueArn: queues.jobs.queueArn,
      tableArn: table.table.tableArn,
      outputsBucketArn: `arn:${this.partition}:s3:::${config.outputsBucketName}`,
      outputsKeyPrefix: JOBS.outputsKeyPrefix,
    });

    new CfnOutput(this, OUTPUT_KEYS.jobsQueueUrl, { value: queues.jobs.queueUrl });
    new CfnOutput(this, OUTPUT_KEYS.jobsTableName, { value: table.table.tableName });
  }
}
