import { SYNC_DELIVERY_TIMEOUT_SECONDS, SYNC_EXECUTION_TIMEOUT_SECONDS } from '../../../lambda/model-sync/planner';

/** What `models status` says about a node's latest sync. */
export type SyncResult = 'Success' | 'Failed' | 'InProgress' | 'Unknown';

/** SSM's record of the newest ComfyUI-SyncModels command on one node (ListCommands + GetCommandInvocation). */
export interface SsmInvocation {
  readonly instanceId: string;
  readonly commandId: string;
  /** SSM's invocation status: Pending, InProgress, Delayed, Success, Cancelled, TimedOut, Failed, Cancelling. */
  readonly status: string;
  readonly requestedAt?: Date;
  readonly startedAt?: Date;
  readonly endedAt?: Date;
  /** The first 24,000 characters of the script's stdout, as SSM keeps them. */
  readonly output: string;
}

/** The newest sync output stream of one node in the CloudWatch log group (`<command>/<instance>/<step>/stdout`). */
export interface LogStreamReport {
  readonly instanceId: string;
  readonly commandId: string;
  readonly lastEventAt: Date;
  /** The stream's last lines, oldest first. */
  readonly lines: readonly string[];
}

export interface NodeSyncStatus {
  readonly instanceId: string;
  readonly lastSync?: Date;
  readonly result: SyncResult;
  /** SSM's own status word, when SSM was the source (TimedOut, Cancelled, ... all show as Failed). */
  readonly ssmStatus?: string;
  readonly commandId: string;
  /** The last line sync_models.py printed, without its `[model-sync] ` prefix. */
  readonly summary?: string;
}

/** Every line of sync_models.py starts with this (its `log()` function). */
const SCRIPT_PREFIX = '[model-sync] ';

/** The last line the sync script printed (its `done:` or `FAILED:` summary once it ends), prefix removed. */
export function lastSummaryLine(lines: readonly string[] | string): string | undefined {
  const all = (typeof lines === 'string' ? [lines] : lines).flatMap((l) => l.split(/\r?\n/));
  const last = all.map((l) => l.trim()).filter((l) => l.startsWith(SCRIPT_PREFIX)).pop();
  return last?.slice(SCRIPT_PREFIX.length);
}

/** SSM's invocation status reduced to the three answers an operator needs. */
export function resultOfSsmStatus(status: string): SyncResult {
  if (status === 'Success') return 'Success';
  if (['Pending', 'InProgress', 'Delayed', 'Cancelling'].includes(status)) return 'InProgress';
  return 'Failed';
}

/**
 * The result read from the script's output alone (when SSM cannot be asked). Without a `done:` or `FAILED:`
 * line the run is still going, unless its output stopped longer ago than SSM lets a sync run.
 */
export function resultOfSummary(summary: string | undefined, lastEventAt: Date, now: Date): SyncResult {
  if (summary?.startsWith('done:')) return 'Success';
  if (summary?.startsWith('FAILED:')) return 'Failed';
  const maxRunMs = (SYNC_EXECUTION_TIMEOUT_SECONDS + SYNC_DELIVERY_TIMEOUT_SECONDS) * 1000;
  return now.getTime() - lastEventAt.getTime() <= maxRunMs ? 'InProgress' : 'Unknown';
}

function ssmTime(inv: SsmInvocation): Date | undefined {
  return inv.endedAt ?? inv.startedAt ?? inv.requestedAt;
}

/**
 * One status per node from both sources. For the same command, SSM gives the result and time and the log
 * gives the summary (SSM keeps only the first 24,000 characters of output, so a long run's final line may be
 * only in the log). When they disagree on the command, the newer report wins.
 */
export function nodeStatuses(ssm: readonly SsmInvocation[], logs: readonly LogStreamReport[], now: Date): NodeSyncStatus[] {
  const fromSsm = new Map(ssm.map((inv) => [inv.instanceId, inv]));
  const fromLogs = new Map(logs.map((log) => [log.instanceId, log]));
  const nodes = [...new Set([...fromSsm.keys(), ...fromLogs.keys()])].sort();
  return nodes.map((instanceId): NodeSyncStatus => {
    const inv = fromSsm.get(instanceId);
    const log = fromLogs.get(instanceId);
    const logSummary = log ? lastSummaryLine(log.lines) : undefined;
    const invTime = inv ? ssmTime(inv) : undefined;
    if (inv && (!log || log.commandId === inv.commandId || (invTime && invTime >= log.lastEventAt))) {
      const sameCommand = log?.commandId === inv.commandId;
      return {
        instanceId,
        lastSync: invTime ?? (sameCommand ? log?.lastEventAt : undefined),
        result: resultOfSsmStatus(inv.status),
        ssmStatus: inv.status,
        commandId: inv.commandId,
        summary: (sameCommand ? logSummary : undefined) ?? lastSummaryLine(inv.output),
      };
    }
    const only = log as LogStreamReport;
    return {
      instanceId,
      lastSync: only.lastEventAt,
      result: resultOfSummary(logSummary, only.lastEventAt, now),
      commandId: only.commandId,
      summary: logSummary,
    };
  });
}

function isoSeconds(date: Date | undefined): string {
  return date ? `${date.toISOString().slice(0, 19)}Z` : '-';
}

/** A table for people: node, time of its last sync, result, and what the script said last. */
export function formatStatusTable(statuses: readonly NodeSyncStatus[]): string {
  const rows = [
    ['NODE', 'LAST SYNC (UTC)', 'RESULT', 'SUMMARY'],
    ...statuses.map((s) => [
      s.instanceId,
      isoSeconds(s.lastSync),
      s.ssmStatus && s.ssmStatus !== s.result ? `${s.result} (${s.ssmStatus})` : s.result,
      s.summary ?? '-',
    ]),
  ];
  const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c].length)));
  return `${rows.map((r) => [...r.slice(0, 3).map((cell, c) => cell.padEnd(widths[c])), r[3]].join('  ')).join('\n')}\n`;
}

/** The statuses for scripts, times in ISO 8601. */
export function statusesJson(statuses: readonly NodeSyncStatus[]): unknown {
  return statuses.map((s) => ({ ...s, lastSync: s.lastSync?.toISOString() }));
}

/**
 * SSM's invocation times are ISO 8601 strings; empty until the step starts. A time without a zone is UTC
 * (the emulator writes them so; `new Date()` would read it as local time).
 */
export function parseSsmTime(value: string | undefined): Date | undefined {
  if (!value) return undefined;
  const zoned = /(Z|[+-]\d\d:?\d\d)$/.test(value) ? value : `${value}Z`;
  const date = new Date(zoned);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** `<commandId>/<instanceId>/<step>/stdout`, the stream names SSM Run Command writes, or undefined for others. */
export function parseOutputStreamName(name: string): { commandId: string; instanceId: string } | undefined {
  const parts = name.split('/');
  const isNode = parts.length >= 4 && (parts[1].startsWith('i-') || parts[1].startsWith('mi-'));
  if (!isNode || parts[parts.length - 1] !== 'stdout') {
    return undefined;
  }
  return { commandId: parts[0], instanceId: parts[1] };
}
