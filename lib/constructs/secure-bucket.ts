import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { DataRemovalPolicy } from '../config';
import { toRemovalPolicy } from '../removal';

export interface SecureBucketProps {
  /** Physical bucket name. */
  readonly bucketName: string;
  /** Keep noncurrent versions so an overwritten or deleted object can be restored. @default false */
  readonly versioned?: boolean;
  /** Days a noncurrent version is kept before it expires (only with versioning). @default 30 */
  readonly noncurrentVersionDays?: number;
  /** What `cdk destroy` does with the bucket and its objects. */
  readonly dataRemovalPolicy: DataRemovalPolicy;
  /** Write S3 server access logs (free to deliver; storage of the logs is billed). @default true */
  readonly accessLogs?: boolean;
  /**
   * The bucket already exists (retained by an earlier `cdk destroy`): use it by name and create only its
   * TLS-only bucket policy, which was deleted with the old stack. @default false
   */
  readonly adoptExisting?: boolean;
}

/**
 * An S3 bucket that is private, TLS-only and encrypted, with optional versioning and server access logs
 * into a sibling log bucket. Every bucket of the app is one of these, so the settings live in one place.
 */
export class SecureBucket extends Construct {
  readonly bucket: s3.IBucket;
  /** The bucket that receives server access logs, when they are on (an adopted bucket keeps its own). */
  readonly accessLogsBucket?: s3.Bucket;

  constructor(scope: Construct, id: string, props: SecureBucketProps) {
    super(scope, id);
    if (props.adoptExisting) {
      this.bucket = adoptBucket(this, props.bucketName);
      return;
    }
    const removalPolicy = toRemovalPolicy(props.dataRemovalPolicy);
    const autoDeleteObjects = props.dataRemovalPolicy === 'destroy';

    if (props.accessLogs ?? true) {
      this.accessLogsBucket = createLogBucket(this, 'AccessLogs', props.dataRemovalPolicy);
    }

    this.bucket = new s3.Bucket(this, 'Bucket', {
      ...secureDefaults,
      bucketName: props.bucketName,
      versioned: props.versioned ?? false,
      lifecycleRules: [
        { abortIncompleteMultipartUploadAfter: Duration.days(7) },
        ...(props.versioned
          ? [{ noncurrentVersionExpiration: Duration.days(props.noncurrentVersionDays ?? 30) }]
          : []),
      ],
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: this.accessLogsBucket ? `${props.bucketName}/` : undefined,
      removalPolicy,
      autoDeleteObjects,
    });
    // The log bucket's policy is what lets S3 deliver the access logs (serverAccessLogsUseBucketPolicy). It lives
    // as long as the buckets do: a retained bucket adopted by a later deploy (adoptRetainedData) still logs
    // into the retained log bucket, which would refuse the logs if `cdk destroy` had deleted this policy.
    this.accessLogsBucket?.policy?.applyRemovalPolicy(removalPolicy);
  }
}

/**
 * An existing bucket by name, with the policy that refuses requests without TLS or below TLS 1.2 (what
 * `enforceSSL` and `minimumTLSVersion` give a bucket CDK creates; `cdk destroy` deleted that policy with the old
 * stack). Its other settings (versioning, lifecycle, encryption, logging) are the ones it was created with, since
 * a retained bucket keeps them. The policy is created at the construct path a created bucket's policy has
 * (`<id>/Bucket/Policy`), so it keeps its logical id: turning adoptRetainedData on for a stack whose bucket still
 * exists updates that policy in place instead of replacing (and so deleting) it.
 */
function adoptBucket(scope: Construct, bucketName: string): s3.IBucket {
  const bucket = s3.Bucket.fromBucketName(scope, 'Bucket', bucketName);
  const policy = new s3.BucketPolicy(bucket, 'Policy', { bucket });
  const deny = (conditions: Record<string, unknown>) => new iam.PolicyStatement({
    effect: iam.Effect.DENY,
    principals: [new iam.AnyPrincipal()],
    actions: ['s3:*'],
    resources: [bucket.bucketArn, bucket.arnForObjects('*')],
    conditions,
  });
  policy.document.addStatements(
    deny({ Bool: { 'aws:SecureTransport': 'false' } }),
    deny({ NumericLessThan: { 's3:TlsVersion': MINIMUM_TLS_VERSION } }),
  );
  return bucket;
}

/**
 * A private, encrypted, TLS-only bucket for logs (S3 server access logs, ALB access logs). Logs are only
 * useful for a while, so they expire after 90 days and logging stays cheap. A log bucket does not log
 * its own access (that would loop); the cdk-nag acknowledgement says so.
 */
export function createLogBucket(
  scope: Construct,
  id: string,
  dataRemovalPolicy: DataRemovalPolicy,
  options: { aclWritable?: boolean } = {},
): s3.Bucket {
  return new s3.Bucket(scope, id, {
    ...secureDefaults,
    // CloudFront standard logging still delivers through an ACL grant; everything else uses bucket policies.
    objectOwnership: options.aclWritable ? s3.ObjectOwnership.OBJECT_WRITER : s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    lifecycleRules: [{ expiration: Duration.days(90) }],
    removalPolicy: toRemovalPolicy(dataRemovalPolicy),
    autoDeleteObjects: dataRemovalPolicy === 'destroy',
  });
}

/** Requests below this TLS version are refused by every bucket's policy. */
const MINIMUM_TLS_VERSION = 1.2;

const secureDefaults = {
  blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
  encryption: s3.BucketEncryption.S3_MANAGED,
  enforceSSL: true,
  minimumTLSVersion: MINIMUM_TLS_VERSION,
  objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
} satisfies s3.BucketProps;
