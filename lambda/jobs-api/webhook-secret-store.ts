import { randomBytes } from 'node:crypto';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { JOBS } from '../../lib/jobs/contract';

/**
 * Each user's webhook signing secret, in the user's item of the jobs table (docs/jobs.md, "DynamoDB items").
 * Shared by the API (show, rotate) and the webhook sender (sign), so the first of them to need it creates it.
 */
export function userItemKey(user: string): string {
  return `${JOBS.table.userKeyPrefix}${user}`;
}

function newSecret(): string {
  // 256 bits, the HMAC-SHA256 block-size guidance of RFC 2104 section 3 is met by any key of 32+ bytes.
  return randomBytes(32).toString('hex');
}

export class WebhookSecretStore {
  constructor(private readonly db: DynamoDBDocumentClient, private readonly tableName: string) {}

  /** The user's secret, created on first use; a concurrent creator wins and both callers get its secret. */
  async getOrCreate(user: string): Promise<string> {
    const key = { pk: userItemKey(user) };
    const found = await this.db.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
    if (typeof found.Item?.webhook_secret === 'string') return found.Item.webhook_secret;
    const secret = newSecret();
    try {
      await this.db.send(new PutCommand({
        TableName: this.tableName,
        Item: { ...key, webhook_secret: secret },
        ConditionExpression: 'attribute_not_exists(webhook_secret)',
      }));
      return secret;
    } catch (error) {
      if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
      return this.getOrCreate(user);
    }
  }

  /** A new secret; the old one stops signing at once (the webhook sender reads the item at each delivery). */
  async rotate(user: string): Promise<string> {
    const secret = newSecret();
    await this.db.send(new PutCommand({ TableName: this.tableName, Item: { pk: userItemKey(user), webhook_secret: secret } }));
    return secret;
  }
}
