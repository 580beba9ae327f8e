/** Environment variables of the webhook sender; the jobs stack sets them (lib/stacks/jobs-stack.ts). */
export const JOB_WEBHOOKS_ENV = {
  tableName: 'JOBS_TABLE_NAME',
  /** The queue of deliveries to retry (with a growing DelaySeconds); the same function consumes it. */
  retryQueueUrl: 'WEBHOOK_RETRY_QUEUE_URL',
  /** "true" only in tests: webhook URLs may be plain http (loopback receivers). */
  webhookAllowHttp: 'WEBHOOK_ALLOW_HTTP',
} as const;
