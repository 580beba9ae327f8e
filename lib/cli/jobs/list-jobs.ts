import { InvalidArgumentError } from 'commander';
import { JOB_STATUSES, JobStatus } from '../../jobs/contract';
import { MAX_LIST_LIMIT } from '../../jobs/list-query';
import { JobPage, JobView } from './job-view';

export interface JobsQuery {
  readonly statuses?: readonly JobStatus[];
  /** Admins only: one user's jobs, or `*` for everyone's. */
  readonly owner?: string;
  /** Show at most this many; undefined: every job (`--all`). */
  readonly limit?: number;
}

export interface JobsListing {
  readonly jobs: JobView[];
  /** More jobs match than were shown. */
  readonly more: boolean;
}

/** A commander parser for `--status pending,in_progress`; the error lists the statuses there are. */
export function parseStatuses(raw: string): JobStatus[] {
  const statuses = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const unknown = statuses.filter((s) => !(JOB_STATUSES as readonly string[]).includes(s));
  if (statuses.length === 0 || unknown.length > 0) {
    throw new InvalidArgumentError(`expected statuses from ${JOB_STATUSES.join(', ')} (comma-separated), got ${JSON.stringify(raw)}`);
  }
  return statuses as JobStatus[];
}

/** `jobs?status=...&limit=...&cursor=...`, the path of one page. */
export function jobsPagePath(query: JobsQuery, pageSize: number, cursor?: string): string {
  const params = new URLSearchParams();
  if (query.statuses?.length) params.set('status', query.statuses.join(','));
  if (query.owner) params.set('owner', query.owner);
  params.set('limit', String(pageSize));
  if (cursor) params.set('cursor', cursor);
  return `jobs?${params}`;
}

/**
 * Reads pages, newest first, following `next_cursor` until `limit` jobs are gathered or the last page: a status
 * filter is applied after DynamoDB reads a page, so a page may be short (even empty) while more follow.
 */
export async function listJobs(readPage: (path: string) => Promise<JobPage>, query: JobsQuery): Promise<JobsListing> {
  const jobs: JobView[] = [];
  const seen = new Set<string>();
  let cursor: string | undefined;
  for (;;) {
    const wanted = query.limit === undefined ? MAX_LIST_LIMIT : query.limit - jobs.length;
    const page = await readPage(jobsPagePath(query, Math.min(wanted, MAX_LIST_LIMIT), cursor));
    jobs.push(...page.jobs);
    cursor = page.next_cursor ?? undefined;
    // A cursor seen before would loop for ever: stop, and say there is more.
    if (!cursor || seen.has(cursor)) break;
    seen.add(cursor);
    if (query.limit !== undefined && jobs.length >= query.limit) break;
  }
  const limit = query.limit ?? jobs.length;
  return { jobs: jobs.slice(0, limit), more: jobs.length > limit || cursor !== undefined };
}
