import * as path from 'path';
import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { modelSyncStatements } from '../policies/model-sync';

export interface ModelSyncFunctionProps {
  /** The models bucket whose object created/removed events trigger a sync. */
  readonly modelsBucket: s3.IBucket;
  /** EKS cluster whose GPU nodes receive the sync command. */
  readonly clusterName: string;
  /** Karpenter node pools whose nodes hold a model cache. */
  readonly nodePools: readonly string[];
  /** SSM Command document the function sends. */
  readonly syncDocumentName: string;
  /** CloudWatch log group that receives each node's command output. */
  readonly syncLogGroupName: string;
  /**
   * How long SQS gathers notifications before invoking the function, so a burst of uploads becomes
   * one fan-out. @default 20 seconds (nodes still hear of a change within a minute)
   */
  readonly batchWindow?: Duration;
}

/** The Lambda entry, bundled by the local esbuild (no Docker needed). */
const HANDLER_ENTRY = path.join(__dirname, '..', '..', 'lambda', 'model-sync', 'handler.ts');

/**
 * Models bucket notifications -> SQS (with a dead-letter queue) -> the model-sync Lambda, which fans out
 * one SSM command per batch to the cluster's GPU nodes.
 */
export class ModelSyncFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: ModelSyncFunctionProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const timeout = Duration.minutes(2);

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // AWS recommends a visibility timeout of six times the function timeout for SQS event sources:
      // https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
      visibilityTimeout: Duration.seconds(timeout.toSeconds() * 6),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: 5 },
    });

    const logGroup = new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_MONTH });
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Model-sync Lambda: read SQS, send the sync SSM document to this cluster\'s nodes',
      inlinePolicies: {
        ModelSync: new iam.PolicyDocument({
          statements: modelSyncStatements({
            partition: stack.partition,
            region: stack.region,
            account: stack.account,
            clusterName: props.clusterName,
            documentName: props.syncDocumentName,
          }),
        }),
      },
    });
    logGroup.grantWrite(role);

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: HANDLER_ENTRY,
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout,
      role,
      logGroup,
      environment: {
        MODELS_BUCKET: props.modelsBucket.bucketName,
        CLUSTER_NAME: props.clusterName,
        NODE_POOLS: props.nodePools.join(','),
        SYNC_DOCUMENT_NAME: props.syncDocumentName,
        SYNC_LOG_GROUP: props.syncLogGroupName,
        POWERTOOLS_SERVICE_NAME: 'comfyui-model-sync',
      },
      bundling: { minify: true, sourceMap: true, target: 'node24', forceDockerBundling: false },
    });

    this.function.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: 1000,
        maxBatchingWindow: props.batchWindow ?? Duration.seconds(20),
        reportBatchItemFailures: true,
      }),
    );

    const destination = new s3n.SqsDestination(this.queue);
    props.modelsBucket.addEventNotification(s3.EventType.OBJECT_CREATED, destination);
    props.modelsBucket.addEventNotification(s3.EventType.OBJECT_REMOVED, destination);
  }
}
