/** Environment variables of the jobs API function; the jobs stack sets them (lib/stacks/jobs-stack.ts). */
export const JOBS_API_ENV = {
  tableName: 'JOBS_TABLE_NAME',
  queueUrl: 'JOBS_QUEUE_URL',
  templatesBucketName: 'TEMPLATES_BUCKET_NAME',
  outputsBucketName: 'OUTPUTS_BUCKET_NAME',
  /** Comma-separated edge user names who see and cancel every user's jobs. */
  admins: 'JOBS_ADMINS',
  /** Days a finished job's record is kept (DynamoDB TTL). */
  retentionDays: 'JOBS_RETENTION_DAYS',
  /** Lifetime of the presigned output URLs in job views. */
  outputUrlSeconds: 'OUTPUT_URL_SECONDS',
  /** "true" only in tests: webhook URLs may be plain http (loopback receivers). */
  webhookAllowHttp: 'WEBHOOK_ALLOW_HTTP',
} as const;
