import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { ModelSyncConfig } from './config';
import { FanOutClients, FanOutError, FanOutResult, fanOutSync } from './fan-out';
import { planSync, SyncPlan } from './planner';
import { MalformedNotificationError } from './s3-events';

export interface SyncBatchDeps extends FanOutClients {
  readonly logger: Logger;
  readonly config: ModelSyncConfig;
}

function logPlan(logger: Logger, plan: SyncPlan, records: number): void {
  for (const i of plan.ignored) logger.info('Ignoring notification', { ...i });
  for (const [messageId, reason] of plan.malformed) logger.error('Malformed message', { messageId, reason });
  logger.info('Planned sync', {
    records,
    changedKeys: plan.keys.length,
    keysSample: plan.keys.slice(0, 20),
    ignored: plan.ignored.length,
    malformed: plan.malformed.size,
    testEvents: plan.testEvents,
  });
}

async function runFanOut(deps: SyncBatchDeps, keys: string[]): Promise<FanOutResult> {
  const logNodes = (result: FanOutResult) => {
    if (result.unreachable.length > 0) {
      deps.logger.warn(
        `${result.unreachable.length} running GPU nodes are not reachable through SSM (ConnectionLost, Inactive or never ` +
          'registered): they keep their models as they are until they are replaced; check their SSM agent',
        { unreachable: result.unreachable },
      );
    }
  };
  try {
    const result = await fanOutSync(deps, deps.config, keys);
    logNodes(result);
    if (result.nodes === 0) {
      deps.logger.info('No GPU nodes online; new nodes sync their models at boot', { keys: keys.length });
    } else {
      deps.logger.info('Sync commands sent', { nodes: result.nodes, commands: result.commands });
    }
    return result;
  } catch (error) {
    if (error instanceof FanOutError) logNodes(error.result);
    if (error instanceof FanOutError && error.onlyBooting) {
      deps.logger.info(
        `${error.result.booting.length} GPU nodes are still booting (not yet registered with SSM); the batch is ` +
          'retried after the queue\'s visibility timeout so they get these keys too',
        { booting: error.result.booting, nodes: error.result.nodes, commands: error.result.commands },
      );
    } else {
      const details = error instanceof FanOutError ? { commands: error.result.commands, booting: error.result.booting } : {};
      deps.logger.error('Sync fan-out failed; the batch will be retried', { error: error as Error, ...details });
    }
    throw error;
  }
}

/**
 * One SQS batch -> one plan -> at most one fan-out. Each record then succeeds or fails on its own
 * (Powertools partial batch response): malformed records fail (to the DLQ after maxReceiveCount),
 * records that carried changes share the fan-out's fate, the rest succeed.
 */
export async function syncBatch(event: SQSEvent, context: Context, deps: SyncBatchDeps): Promise<SQSBatchResponse> {
  const plan = planSync(event.Records, deps.config.modelsBucket);
  logPlan(deps.logger, plan, event.Records.length);

  const fanOut = plan.keys.length > 0 ? runFanOut(deps, plan.keys) : undefined;
  // Records await it one by one; this keeps an early rejection from counting as unhandled meanwhile.
  fanOut?.catch(() => undefined);

  const processRecord = async (record: SQSRecord): Promise<void> => {
    const malformed = plan.malformed.get(record.messageId);
    if (malformed !== undefined) throw new MalformedNotificationError(malformed);
    if (fanOut && plan.fanOutMessageIds.has(record.messageId)) await fanOut;
  };
  return processPartialResponse(event, processRecord, new BatchProcessor(EventType.SQS), {
    context,
    throwOnFullBatchFailure: false,
  });
}
