import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { jobKey } from '../../lib/jobs/contract';
import type { JobItem } from '../../lib/jobs/job-view';

/**
 * A job's webhook_state and webhook_attempts. Each write is conditional on the webhook still pending and on this
 * attempt not yet recorded, so a repeated stream record or message records (and retries) an attempt once.
 */
export class WebhookStateStore {
  constructor(private readonly db: DynamoDBDocumentClient, private readonly tableName: string) {}

  async getJob(id: string): Promise<JobItem | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.tableName, Key: { pk: jobKey(id) }, ConsistentRead: true }));
    return out.Item as JobItem | undefined;
  }

  /** Records attempt `attempt` and, unless undefined, the new state; false when another invocation was first. */
  async recordAttempt(id: string, attempt: number, state: 'delivered' | 'failed' | undefined): Promise<boolean> {
    try {
      await this.db.send(new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: jobKey(id) },
        UpdateExpression: `SET webhook_attempts = :attempt${state === undefined ? '' : ', webhook_state = :state'}`,
        ConditionExpression: 'webhook_state = :pending AND (attribute_not_exists(webhook_attempts) OR webhook_attempts < :attempt)',
        ExpressionAttributeValues: { ':attempt': attempt, ':pending': 'pending', ...(state === undefined ? {} : { ':state': state }) },
      }));
      return true;
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }
}
