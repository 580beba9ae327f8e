/** Environment variables of the jobs dead-letter handler; the jobs stack sets them (lib/stacks/jobs-stack.ts). */
export const JOBS_DEAD_LETTER_ENV = {
  tableName: 'JOBS_TABLE_NAME',
} as const;
