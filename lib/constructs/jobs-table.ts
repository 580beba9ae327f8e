import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { DataRemovalPolicy } from '../config';
import { JOBS } from '../jobs/contract';
import { toRemovalPolicy } from '../removal';

export interface JobsTableProps {
  /** What `cdk destroy` does with the table and its items. */
  readonly dataRemovalPolicy: DataRemovalPolicy;
}

/**
 * The jobs table (docs/jobs.md, "DynamoDB items"): job, idempotency and user items under one partition key, the
 * sparse byOwner index for a user's newest jobs, TTL on `expires_at`, and a stream of old and new images for the
 * webhook sender. On demand, so it costs nothing idle; AWS-owned encryption, since a customer-managed KMS key would
 * cost $1 a month idle (https://aws.amazon.com/kms/pricing/) and protect nothing more here. Point-in-time recovery
 * restores a table an operator damaged. No physical name: a table retained by `cdk destroy` never collides with the
 * next deploy's (its job records expire anyway; templates live in S3).
 */
export class JobsTable extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: JobsTableProps) {
    super(scope, id);
    const { table: keys } = JOBS;
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: keys.partitionKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      // DEFAULT is the AWS-owned key: no SSESpecification, no KMS charge.
      encryption: dynamodb.TableEncryption.DEFAULT,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: keys.ttlAttribute,
      stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
      removalPolicy: toRemovalPolicy(props.dataRemovalPolicy),
    });
    this.table.addGlobalSecondaryIndex({
      indexName: keys.ownerIndexName,
      partitionKey: { name: keys.ownerIndexPartitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: keys.ownerIndexSortKey, type: dynamodb.AttributeType.NUMBER },
      projectionType: dynamodb.ProjectionType.ALL,
    });
  }

  /** The ARN of the byOwner index, for a Query grant on it alone. */
  get ownerIndexArn(): string {
    return `${this.table.tableArn}/index/${JOBS.table.ownerIndexName}`;
  }
}
