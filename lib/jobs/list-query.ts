import { invalid, isPlainObject } from './api-error';
import { JOB_STATUSES, JOBS, JobStatus } from './contract';

/** `GET /jobs` query, checked (docs/jobs.md): whose jobs, which statuses, how many, from where. */
export interface ListQuery {
  /** One user, or '*' (admins only) for everyone's. */
  readonly owner: string;
  readonly statuses?: readonly JobStatus[];
  readonly limit: number;
  readonly cursor?: Record<string, unknown>;
}

export const DEFAULT_LIST_LIMIT = 50;
export const MAX_LIST_LIMIT = 100;

export function encodeCursor(lastEvaluatedKey: Record<string, unknown> | undefined): string | null {
  return lastEvaluatedKey === undefined ? null : Buffer.from(JSON.stringify(lastEvaluatedKey)).toString('base64url');
}

function decodeCursor(text: string): Record<string, unknown> {
  try {
    const value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    // A key of the byOwner index: the table's pk plus the index's keys, strings and numbers only.
    if (isPlainObject(value) && typeof value[JOBS.table.partitionKey] === 'string'
      && Object.values(value).every((v) => typeof v === 'string' || typeof v === 'number')) return value;
  } catch {
    // reported below
  }
  throw invalid('cursor', 'cursor is not one this API returned; pass next_cursor from the previous page as it is');
}

export function parseListQuery(
  query: Readonly<Record<string, string | undefined>>, caller: { user: string; admin: boolean },
): ListQuery {
  const owner = query.owner ?? caller.user;
  if (owner !== caller.user && !caller.admin) {
    throw invalid('owner', 'Only admins (jobsAdmins) may list other users\' jobs; leave out owner to list yours');
  }
  let statuses: JobStatus[] | undefined;
  if (query.status !== undefined && query.status !== '') {
    statuses = query.status.split(',').map((s) => s.trim()) as JobStatus[];
    const bad = statuses.find((s) => !JOB_STATUSES.includes(s));
    if (bad !== undefined) throw invalid('status', `status '${bad}' is not one of ${JOB_STATUSES.join(', ')}`);
  }
  let limit = DEFAULT_LIST_LIMIT;
  if (query.limit !== undefined) {
    limit = Number(query.limit);
    if (!/^[0-9]+$/.test(query.limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
      throw invalid('limit', `limit must be a whole number from 1 to ${MAX_LIST_LIMIT}, got '${query.limit}'`);
    }
  }
  const cursor = query.cursor !== undefined && query.cursor !== '' ? decodeCursor(query.cursor) : undefined;
  // DynamoDB refuses a start key from another partition; say which mistake it is instead of failing there.
  const cursorOwner = cursor?.[JOBS.table.ownerIndexPartitionKey];
  if (cursor !== undefined && owner !== '*' && cursorOwner !== owner) {
    throw invalid('cursor', 'cursor belongs to another listing; pass next_cursor with the same owner it came with');
  }
  return { owner, statuses, limit, cursor };
}
