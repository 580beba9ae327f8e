import { CfnOutput, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { AppConfig } from '../config';
import { ModelSyncDocument } from '../constructs/model-sync-document';
import { ModelSyncFunction } from '../constructs/model-sync-function';
import { SecureBucket } from '../constructs/secure-bucket';
import { GPU_NODE_POOLS, MODEL_SYNC_DOCUMENT_NAME, modelSyncLogGroupName, OUTPUT_KEYS } from '../names';

export interface ModelsSyncStackProps extends StackProps {
  readonly config: AppConfig;
}

/** `LambdaModelsSync`: the models bucket and the function that keeps every GPU node's copy in step. */
export class ModelsSyncStack extends Stack {
  readonly modelsBucket: s3.IBucket;

  constructor(scope: Construct, id: string, props: ModelsSyncStackProps) {
    super(scope, id, props);
    const { config } = props;

    const models = new SecureBucket(this, 'Models', {
      bucketName: config.modelsBucketName,
      // Versioning protects multi-GB checkpoints from an accidental overwrite or delete.
      versioned: true,
      dataRemovalPolicy: config.dataRemovalPolicy,
      accessLogs: config.bucketAccessLogs,
      adoptExisting: config.adoptRetainedData,
    });
    this.modelsBucket = models.bucket;

    new ModelSyncDocument(this, 'SyncDocument', {
      documentName: MODEL_SYNC_DOCUMENT_NAME,
      bucketName: config.modelsBucketName,
      region: this.region,
    });
    const commandLogs = new logs.LogGroup(this, 'SyncCommandLogs', {
      logGroupName: modelSyncLogGroupName(config.clusterName),
      retention: logs.RetentionDays.ONE_MONTH,
      // A month of sync command output is not data worth keeping, and a retained group with this fixed name
      // would make the next deploy after `cdk destroy` fail with "already exists".
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const sync = new ModelSyncFunction(this, 'ModelSync', {
      modelsBucket: models.bucket,
      clusterName: config.clusterName,
      nodePools: GPU_NODE_POOLS,
      syncDocumentName: MODEL_SYNC_DOCUMENT_NAME,
      syncLogGroupName: commandLogs.logGroupName,
    });

    new CfnOutput(this, OUTPUT_KEYS.modelsBucketName, { value: models.bucket.bucketName });
    new CfnOutput(this, OUTPUT_KEYS.modelSyncQueueUrl, { value: sync.queue.queueUrl });
    new CfnOutput(this, OUTPUT_KEYS.modelSyncLogGroupName, { value: commandLogs.logGroupName });
  }
}
