/** Builds SQS message bodies exactly as S3 writes them for event notifications. */

/** S3's key encoding in notifications: form URL encoding, so spaces become '+'. */
export function encodeLikeS3(key: string): string {
  return encodeURIComponent(key).replace(/%20/g, '+');
}

export interface ObjectEvent {
  readonly key: string;
  readonly eventName?: string;
  readonly bucket?: string;
}

export function s3NotificationBody(events: readonly ObjectEvent[], defaultBucket: string): string {
  return JSON.stringify({
    Records: events.map((e) => ({
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: 'us-west-2',
      eventTime: '2026-11-21T10:00:00.000Z',
      eventName: e.eventName ?? 'ObjectCreated:Put',
      s3: {
        s3SchemaVersion: '1.0',
        bucket: { name: e.bucket ?? defaultBucket, arn: `arn:aws:s3:::${e.bucket ?? defaultBucket}` },
        object: { key: encodeLikeS3(e.key), size: 1024, eTag: 'd41d8cd98f00b204e9800998ecf8427e', sequencer: '0A1B2C3D' },
      },
    })),
  });
}

export function s3TestEventBody(bucket: string): string {
  return JSON.stringify({
    Service: 'Amazon S3',
    Event: 's3:TestEvent',
    Time: '2026-11-21T10:00:00.000Z',
    Bucket: bucket,
    RequestId: 'TESTREQUEST',
    HostId: 'TESTHOST',
  });
}
