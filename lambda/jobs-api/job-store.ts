import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, ScanCommand, TransactWriteCommand, UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { JOBS, TERMINAL_STATUSES, jobKey } from '../../lib/jobs/contract';
import type { JobItem } from '../../lib/jobs/job-view';
import type { ListQuery } from '../../lib/jobs/list-query';

/**
 * The jobs table, as the API and the dead-letter handler change it: every state change is one conditional write
 * (docs/jobs.md, "State machine"), so a runner's concurrent pickup or completion can never be overwritten.
 */
const { status: S, table } = JOBS;

export function idempotencyItemKey(user: string, key: string): string {
  return `${table.idempotencyKeyPrefix}${user}#${key}`;
}

export interface IdempotencyRecord {
  readonly pk: string;
  readonly job_id: string;
  readonly request_sha256: string;
  readonly expires_at: number;
}

function isConditionFailure(error: unknown): boolean {
  return (error as Error)?.name === 'ConditionalCheckFailedException';
}

export class JobStore {
  constructor(private readonly db: DynamoDBDocumentClient, readonly tableName: string) {}

  /**
   * Writes a new pending job; with `idempotency`, in one transaction with the key's item. Returns the existing
   * record when that key is already taken (and not yet expired), and writes nothing then.
   */
  async createJob(job: JobItem, idempotency?: IdempotencyRecord): Promise<IdempotencyRecord | undefined> {
    const putJob = { TableName: this.tableName, Item: job, ConditionExpression: 'attribute_not_exists(pk)' };
    if (idempotency === undefined) {
      // One conditional put: a transaction of one item would cost twice the write units for nothing.
      await this.db.send(new PutCommand(putJob));
      return undefined;
    }
    try {
      await this.db.send(new TransactWriteCommand({
        TransactItems: [
          { Put: putJob },
          {
            // TTL deletes expired items only eventually (within days), so an expired key counts as free.
            Put: {
              TableName: this.tableName,
              Item: idempotency,
              ConditionExpression: 'attribute_not_exists(pk) OR expires_at < :now',
              ExpressionAttributeValues: { ':now': Math.floor(job.create_time / 1000) },
            },
          },
        ],
      }));
      return undefined;
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const existing = await this.getItem<IdempotencyRecord>(idempotency.pk);
      if (existing === undefined) throw error;
      return existing;
    }
  }

  async getJob(id: string): Promise<JobItem | undefined> {
    return this.getItem<JobItem>(jobKey(id));
  }

  private async getItem<T>(pk: string): Promise<T | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.tableName, Key: { pk }, ConsistentRead: true }));
    return out.Item as T | undefined;
  }

  /**
   * One page of jobs, newest first, from the sparse byOwner index. Everyone's jobs ('*') come from a scan of the
   * index, so there only each page is newest first: DynamoDB has no order across partitions.
   */
  async listJobs(query: ListQuery): Promise<{ jobs: JobItem[]; lastKey?: Record<string, unknown> }> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    let FilterExpression: string | undefined;
    if (query.statuses !== undefined) {
      names['#status'] = 'status';
      query.statuses.forEach((s, i) => { values[`:s${i}`] = s; });
      FilterExpression = `#status IN (${query.statuses.map((_, i) => `:s${i}`).join(', ')})`;
    }
    const page = { TableName: this.tableName, IndexName: table.ownerIndexName, Limit: query.limit, ExclusiveStartKey: query.cursor, FilterExpression };
    const expression = (n: Record<string, string>, v: Record<string, unknown>) => ({
      ...(Object.keys(n).length > 0 ? { ExpressionAttributeNames: n } : {}),
      ...(Object.keys(v).length > 0 ? { ExpressionAttributeValues: v } : {}),
    });
    if (query.owner === '*') {
      const out = await this.db.send(new ScanCommand({ ...page, ...expression(names, values) }));
      const jobs = (out.Items ?? []) as JobItem[];
      jobs.sort((a, b) => b.create_time - a.create_time);
      return { jobs, lastKey: out.LastEvaluatedKey };
    }
    const out = await this.db.send(new QueryCommand({
      ...page,
      KeyConditionExpression: '#owner = :owner',
      ...expression({ ...names, '#owner': table.ownerIndexPartitionKey }, { ...values, ':owner': query.owner }),
      ScanIndexForward: false,
    }));
    return { jobs: (out.Items ?? []) as JobItem[], lastKey: out.LastEvaluatedKey };
  }

  private async update(id: string, params: {
    set: Record<string, unknown>; condition: string; values?: Record<string, unknown>;
  }): Promise<JobItem | undefined> {
    const names: Record<string, string> = { '#status': 'status' };
    const values: Record<string, unknown> = { ...params.values };
    const sets = Object.entries(params.set).map(([name, value], i) => {
      names[`#a${i}`] = name;
      values[`:a${i}`] = value;
      return `#a${i} = :a${i}`;
    });
    try {
      const out = await this.db.send(new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: jobKey(id) },
        UpdateExpression: `SET ${sets.join(', ')}`,
        ConditionExpression: params.condition,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }));
      return out.Attributes as JobItem;
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  /** pending -> cancelled; undefined when the job is no longer pending (a runner took it meanwhile). */
  cancelPending(id: string, now: number): Promise<JobItem | undefined> {
    return this.update(id, {
      set: { status: S.cancelled, cancel_requested: true, update_time: now, execution_end_time: now },
      condition: '#status = :pending',
      values: { ':pending': S.pending },
    });
  }

  /** in_progress: cancel_requested = true, for its runner to interrupt; undefined when no longer in progress. */
  requestCancel(id: string, now: number): Promise<JobItem | undefined> {
    return this.update(id, {
      set: { cancel_requested: true, update_time: now },
      condition: '#status = :running',
      values: { ':running': S.inProgress },
    });
  }

  /** Non-terminal -> failed with `error`; undefined when the job is missing or already terminal. */
  failUnlessTerminal(id: string, now: number, error: Record<string, unknown>): Promise<JobItem | undefined> {
    return this.update(id, {
      set: { status: S.failed, execution_error: error, update_time: now, execution_end_time: now },
      condition: `attribute_exists(pk) AND NOT #status IN (${TERMINAL_STATUSES.map((_, i) => `:t${i}`).join(', ')})`,
      values: Object.fromEntries(TERMINAL_STATUSES.map((s, i) => [`:t${i}`, s])),
    });
  }

  /**
   * The submit's queue send failed: the job becomes failed (`queue_unavailable`) and its idempotency key is freed,
   * so the client's retry with the same key submits again instead of getting the failed job back.
   */
  async failUnqueuedJob(id: string, now: number, idempotencyPk?: string): Promise<void> {
    const failJob = {
      TableName: this.tableName,
      Key: { pk: jobKey(id) },
      UpdateExpression: 'SET #status = :failed, execution_error = :error, update_time = :now, execution_end_time = :now',
      ConditionExpression: '#status = :pending',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':failed': S.failed, ':pending': S.pending, ':now': now,
        ':error': { type: 'queue_unavailable', exception_message: 'The jobs queue did not accept the job; submit it again' },
      },
    };
    await this.db.send(new TransactWriteCommand({
      TransactItems: [
        { Update: failJob },
        ...(idempotencyPk === undefined ? [] : [{
          Delete: {
            TableName: this.tableName,
            Key: { pk: idempotencyPk },
            ConditionExpression: 'job_id = :id',
            ExpressionAttributeValues: { ':id': id },
          },
        }]),
      ],
    }));
  }
}
