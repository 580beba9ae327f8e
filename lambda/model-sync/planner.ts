import type { SendCommandCommandInput } from '@aws-sdk/client-ssm';
import type { ModelSyncConfig } from './config';
import { IgnoredNotification, MalformedNotificationError, readNotificationBody } from './s3-events';

/** The part of an SQS record the planner reads. */
export interface QueuedMessage {
  readonly messageId: string;
  readonly body: string;
}

/** One batch of notifications turned into a single fan-out. */
export interface SyncPlan {
  /** Changed model keys, unique and sorted; empty means no node needs to hear about this batch. */
  readonly keys: string[];
  /** Messages whose keys are in `keys`: they succeed or fail with the fan-out. */
  readonly fanOutMessageIds: ReadonlySet<string>;
  /** Messages that can never be processed, with the reason (reported as failures, so they reach the DLQ). */
  readonly malformed: ReadonlyMap<string, string>;
  /** Notifications skipped on purpose, for the log. */
  readonly ignored: ReadonlyArray<IgnoredNotification & { readonly messageId: string }>;
  /** How many of S3's `s3:TestEvent` messages the batch held. */
  readonly testEvents: number;
}

/** SendCommand accepts at most 50 instance IDs per call. */
export const SEND_COMMAND_MAX_INSTANCES = 50;

/**
 * Changed keys travel as base64 JSON, so no key can inject into the node's shell command, up to this
 * many characters. A document plus its parameters must stay under SSM's 64 KB limit, and the embedded
 * sync program (gzipped, in base64) takes a good part of that. Beyond it the nodes reconcile the whole
 * bucket instead, which costs one listing.
 */
export const KEYS_PARAMETER_MAX_CHARS = 16_384;

/** How long a node may spend on one sync (first syncs of large model sets take a while). */
export const SYNC_EXECUTION_TIMEOUT_SECONDS = 3600;

/** How long SSM keeps trying to deliver the command to a node that is busy or briefly offline. */
export const SYNC_DELIVERY_TIMEOUT_SECONDS = 600;

/** Coalesces every message of a batch into one set of changed keys. */
export function planSync(messages: readonly QueuedMessage[], modelsBucket: string): SyncPlan {
  const keys = new Set<string>();
  const fanOutMessageIds = new Set<string>();
  const malformed = new Map<string, string>();
  const ignored: Array<IgnoredNotification & { messageId: string }> = [];
  let testEvents = 0;

  for (const { messageId, body } of messages) {
    try {
      const read = readNotificationBody(body, modelsBucket);
      if (read.kind === 'test-event') {
        testEvents += 1;
        continue;
      }
      read.ignored.forEach((i) => ignored.push({ ...i, messageId }));
      if (read.changes.length > 0) fanOutMessageIds.add(messageId);
      read.changes.forEach((c) => keys.add(c.key));
    } catch (error) {
      if (!(error instanceof MalformedNotificationError)) throw error;
      malformed.set(messageId, error.message);
    }
  }
  return { keys: [...keys].sort(), fanOutMessageIds, malformed, ignored, testEvents };
}

/** Splits items into consecutive chunks of at most `size`. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`chunk size must be a positive integer, got ${size}`);
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

/** The `keys` document parameter: base64 JSON of the keys, or '' (= reconcile everything) when too long. */
export function encodeKeysParameter(keys: readonly string[]): string {
  const encoded = Buffer.from(JSON.stringify(keys), 'utf8').toString('base64');
  return encoded.length <= KEYS_PARAMETER_MAX_CHARS ? encoded : '';
}

/** One SendCommand request per chunk of at most 50 nodes, all carrying the same keys. */
export function buildSyncCommands(
  config: ModelSyncConfig,
  instanceIds: readonly string[],
  keys: readonly string[],
): SendCommandCommandInput[] {
  const keysParameter = encodeKeysParameter(keys);
  const scope = keysParameter === '' ? `full reconcile (${keys.length} changed keys)` : `${keys.length} changed keys`;
  return chunk([...instanceIds].sort(), SEND_COMMAND_MAX_INSTANCES).map((ids) => ({
    DocumentName: config.syncDocumentName,
    // The newest script, even while a stack update has not yet made it the document's default version.
    DocumentVersion: '$LATEST',
    InstanceIds: ids,
    Parameters: { keys: [keysParameter], executionTimeout: [String(SYNC_EXECUTION_TIMEOUT_SECONDS)] },
    TimeoutSeconds: SYNC_DELIVERY_TIMEOUT_SECONDS,
    Comment: `ComfyUI model sync: ${scope}`.slice(0, 100),
    CloudWatchOutputConfig: { CloudWatchOutputEnabled: true, CloudWatchLogGroupName: config.syncLogGroup },
  }));
}
