import { booleanEnv, Env, positiveIntEnv, requiredEnv } from '../../lib/jobs/env';
import { JOBS_API_ENV } from './settings';

/** What the jobs API function needs to know, read once from its environment (names: settings.ts). */
export interface JobsApiConfig {
  readonly tableName: string;
  readonly queueUrl: string;
  readonly templatesBucket: string;
  readonly outputsBucket: string;
  /** Edge user names that see and cancel every user's jobs. */
  readonly admins: ReadonlySet<string>;
  readonly retentionDays: number;
  readonly outputUrlSeconds: number;
  readonly allowHttpWebhooks: boolean;
}

// 15 minutes: long enough to start a download, short enough that a leaked job view stops working soon.
const DEFAULT_OUTPUT_URL_SECONDS = 900;
// A presigned URL signed with a role's temporary credentials lasts at most as long as they do; a week is the
// SigV4 maximum (https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-presigned-url.html).
const MAX_OUTPUT_URL_SECONDS = 7 * 24 * 3600;
const DEFAULT_RETENTION_DAYS = 30;

export function readJobsApiConfig(env: Env): JobsApiConfig {
  const e = JOBS_API_ENV;
  return {
    tableName: requiredEnv(env, e.tableName, 'the jobs DynamoDB table name'),
    queueUrl: requiredEnv(env, e.queueUrl, 'the jobs SQS queue URL'),
    templatesBucket: requiredEnv(env, e.templatesBucketName, 'the templates bucket name'),
    outputsBucket: requiredEnv(env, e.outputsBucketName, 'the outputs bucket name'),
    admins: new Set((env[e.admins] ?? '').split(',').map((a) => a.trim()).filter((a) => a !== '')),
    retentionDays: positiveIntEnv(env, e.retentionDays, DEFAULT_RETENTION_DAYS, 3650),
    outputUrlSeconds: positiveIntEnv(env, e.outputUrlSeconds, DEFAULT_OUTPUT_URL_SECONDS, MAX_OUTPUT_URL_SECONDS),
    allowHttpWebhooks: booleanEnv(env, e.webhookAllowHttp),
  };
}
