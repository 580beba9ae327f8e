import { modelKeyProblem } from '../../lib/model-folders';

/** A model key whose object was created, overwritten or removed. */
export interface KeyChange {
  readonly key: string;
  readonly eventName: string;
}

/** A notification we deliberately do nothing about, with the reason we log. */
export interface IgnoredNotification {
  readonly key: string;
  readonly eventName: string;
  readonly reason: string;
}

/** What one SQS message body says, once decoded. */
export type NotificationBody =
  | { readonly kind: 'test-event' }
  | { readonly kind: 'notifications'; readonly changes: KeyChange[]; readonly ignored: IgnoredNotification[] };

/** A message body that is not an S3 event notification; retrying cannot fix it, so it ends in the DLQ. */
export class MalformedNotificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedNotificationError';
  }
}

/**
 * Event types that change what a node must hold. Anything else (restore, tagging, ACL, replication,
 * storage-class transitions) leaves the object's bytes as they are.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-event-types-and-destinations.html
 */
const CONTENT_CHANGING_EVENTS = ['ObjectCreated:', 'ObjectRemoved:', 'LifecycleExpiration:'];

/**
 * S3 URL-encodes notification keys with `+` for spaces (form encoding), so `+` itself arrives as `%2B`.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
 */
export function decodeNotificationKey(encoded: string): string {
  try {
    return decodeURIComponent(encoded.replace(/\+/g, ' '));
  } catch {
    throw new MalformedNotificationError(`object key '${encoded}' is not valid URL encoding`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readRecord(record: unknown, index: number, modelsBucket: string): KeyChange | IgnoredNotification {
  const where = `Records[${index}]`;
  if (!isObject(record) || typeof record.eventName !== 'string' || !isObject(record.s3)) {
    throw new MalformedNotificationError(`${where} has no eventName or s3 field`);
  }
  const { bucket, object } = record.s3;
  if (!isObject(bucket) || typeof bucket.name !== 'string' || !isObject(object) || typeof object.key !== 'string') {
    throw new MalformedNotificationError(`${where} has no s3.bucket.name or s3.object.key`);
  }
  const eventName = record.eventName;
  const key = decodeNotificationKey(object.key);
  if (bucket.name !== modelsBucket) {
    return { key, eventName, reason: `bucket '${bucket.name}' is not the models bucket '${modelsBucket}'` };
  }
  if (!CONTENT_CHANGING_EVENTS.some((prefix) => eventName.startsWith(prefix))) {
    return { key, eventName, reason: `event type '${eventName}' does not change object content` };
  }
  const problem = modelKeyProblem(key);
  if (problem !== undefined) return { key, eventName, reason: problem };
  return { key, eventName };
}

/** Decodes one SQS message body holding an S3 event notification (or S3's one-time test event). */
export function readNotificationBody(body: string, modelsBucket: string): NotificationBody {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new MalformedNotificationError(`body is not JSON: '${body.slice(0, 80)}'`);
  }
  if (isObject(parsed) && parsed.Event === 's3:TestEvent') return { kind: 'test-event' };
  if (!isObject(parsed) || !Array.isArray(parsed.Records)) {
    throw new MalformedNotificationError('body is neither an S3 event notification (Records[]) nor s3:TestEvent');
  }
  const changes: KeyChange[] = [];
  const ignored: IgnoredNotification[] = [];
  parsed.Records.forEach((record, index) => {
    const read = readRecord(record, index, modelsBucket);
    if ('reason' in read) ignored.push(read);
    else changes.push(read);
  });
  return { kind: 'notifications', changes, ignored };
}
