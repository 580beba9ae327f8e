import {
  CloudWatchLogsClient,
  GetLogEventsCommand,
  paginateDescribeLogStreams,
} from '@aws-sdk/client-cloudwatch-logs';
import { Command as SsmCommand, GetCommandInvocationCommand, paginateListCommands, SSMClient } from '@aws-sdk/client-ssm';
import { MODEL_SYNC_DOCUMENT_NAME } from '../../names';
import { LogStreamReport, parseOutputStreamName, parseSsmTime, SsmInvocation } from './sync-report';

/** A source either answered or failed with a reason the user can act on. */
export type SourceAnswer<T> = { readonly ok: T } | { readonly error: string };

/** Calls in flight at once, well under SSM's and CloudWatch Logs' per-account request rates. */
const PARALLEL_CALLS = 8;
/** Streams looked at, newest first: each sync writes one per node, so this covers the recent history. */
const MAX_STREAMS = 2000;
/** Events read from the end of a stream: the summary is the last line, progress lines come every 5 s. */
const TAIL_EVENTS = 50;

async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += limit) results.push(...(await Promise.all(items.slice(i, i + limit).map(fn))));
  return results;
}

/** The error as a sentence that says what to check. */
export function explainAwsError(error: unknown, what: string, permissions: string): string {
  const e = error as Error & { $metadata?: { httpStatusCode?: number } };
  if (e.name === 'AccessDeniedException' || e.name === 'UnrecognizedClientException' || e.$metadata?.httpStatusCode === 403) {
    return `${what}: access denied (${e.name}); your credentials need ${permissions}`;
  }
  if (e.name === 'ResourceNotFoundException') return `${what}: not found (${e.message})`;
  if (e.$metadata?.httpStatusCode === undefined) {
    return `${what}: unreachable (${e.message}); check the network, --region and --endpoint-url`;
  }
  return `${what}: ${e.name}: ${e.message}`;
}

/** The newest ComfyUI-SyncModels command per node since `since`, with its invocation's status and output. */
export async function readSsmInvocations(ssm: SSMClient, since: Date): Promise<SourceAnswer<SsmInvocation[]>> {
  try {
    const newest = new Map<string, SsmCommand>();
    const filters = [
      { key: 'DocumentName' as const, value: MODEL_SYNC_DOCUMENT_NAME },
      { key: 'InvokedAfter' as const, value: since.toISOString() },
    ];
    for await (const page of paginateListCommands({ client: ssm }, { Filters: filters })) {
      for (const command of page.Commands ?? []) {
        // Filtered here too: not every SSM implementation applies the filters.
        if (command.DocumentName !== MODEL_SYNC_DOCUMENT_NAME || (command.RequestedDateTime ?? since) < since) continue;
        for (const id of command.InstanceIds ?? []) {
          const seen = newest.get(id);
          if (!seen || (command.RequestedDateTime ?? 0) > (seen.RequestedDateTime ?? 0)) newest.set(id, command);
        }
      }
    }
    const invocations = await mapLimited([...newest], PARALLEL_CALLS, async ([instanceId, command]) => {
      const inv = await ssm.send(new GetCommandInvocationCommand({ CommandId: command.CommandId, InstanceId: instanceId }))
        .catch((error: Error) => {
          if (error.name === 'InvocationDoesNotExist') return undefined;
          throw error;
        });
      return {
        instanceId,
        commandId: command.CommandId ?? '?',
        status: inv?.Status ?? command.Status ?? 'Unknown',
        requestedAt: command.RequestedDateTime,
        startedAt: parseSsmTime(inv?.ExecutionStartDateTime),
        endedAt: parseSsmTime(inv?.ExecutionEndDateTime),
        output: inv?.StandardOutputContent ?? '',
      };
    });
    return { ok: invocations };
  } catch (error) {
    const permissions = 'ssm:ListCommands and ssm:GetCommandInvocation';
    return { error: explainAwsError(error, `SSM commands of ${MODEL_SYNC_DOCUMENT_NAME}`, permissions) };
  }
}

/** The newest sync output stream per node in `logGroup` with its last lines, for streams written since `since`. */
export async function readLogReports(
  logs: CloudWatchLogsClient,
  logGroup: string,
  since: Date,
): Promise<SourceAnswer<LogStreamReport[]>> {
  try {
    const newest = new Map<string, { commandId: string; stream: string; lastEventAt: Date }>();
    let seen = 0;
    const pages = paginateDescribeLogStreams(
      { client: logs },
      { logGroupName: logGroup, orderBy: 'LastEventTime', descending: true },
    );
    scan: for await (const page of pages) {
      for (const stream of page.logStreams ?? []) {
        seen += 1;
        const lastEventAt = new Date(stream.lastEventTimestamp ?? stream.creationTime ?? 0);
        if (lastEventAt < since || seen > MAX_STREAMS) break scan;
        const parsed = parseOutputStreamName(stream.logStreamName ?? '');
        if (parsed && !newest.has(parsed.instanceId)) {
          newest.set(parsed.instanceId, { commandId: parsed.commandId, stream: stream.logStreamName!, lastEventAt });
        }
      }
    }
    const reports = await mapLimited([...newest], PARALLEL_CALLS, async ([instanceId, found]): Promise<LogStreamReport> => {
      const tail = await logs.send(new GetLogEventsCommand({
        logGroupName: logGroup,
        logStreamName: found.stream,
        startFromHead: false,
        limit: TAIL_EVENTS,
      }));
      const events = [...(tail.events ?? [])].sort((a, b) => (a.timestamp ?? 0) - (b.timestamp ?? 0));
      const last = events.at(-1)?.timestamp;
      return {
        instanceId,
        commandId: found.commandId,
        lastEventAt: last !== undefined ? new Date(last) : found.lastEventAt,
        lines: events.map((e) => e.message ?? ''),
      };
    });
    return { ok: reports };
  } catch (error) {
    return { error: explainAwsError(error, `log group ${logGroup}`, 'logs:DescribeLogStreams and logs:GetLogEvents') };
  }
}
