import { CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { AppConfig } from '../config';
import { SecureBucket } from '../constructs/secure-bucket';
import { OUTPUT_KEYS } from '../names';

export interface OutputsStorageStackProps extends StackProps {
  readonly config: AppConfig;
}

/** `S3OutputsStorage`: the bucket ComfyUI writes its outputs to, through the Mountpoint S3 CSI driver. */
export class OutputsStorageStack extends Stack {
  readonly outputsBucket: s3.IBucket;

  constructor(scope: Construct, id: string, props: OutputsStorageStackProps) {
    super(scope, id, props);
    const { config } = props;

    const outputs = new SecureBucket(this, 'Outputs', {
      bucketName: config.outputsBucketName,
      // Outputs are write-once renders; versioning would only double their storage bill.
      versioned: false,
      dataRemovalPolicy: config.dataRemovalPolicy,
      accessLogs: config.bucketAccessLogs,
      adoptExisting: config.adoptRetainedData,
    });
    this.outputsBucket = outputs.bucket;

    new CfnOutput(this, OUTPUT_KEYS.outputsBucketName, { value: outputs.bucket.bucketName });
  }
}
