import { describe, expect, test } from 'vitest';
import {
  formatStatusTable,
  lastSummaryLine,
  LogStreamReport,
  nodeStatuses,
  parseOutputStreamName,
  parseSsmTime,
  resultOfSsmStatus,
  resultOfSummary,
  SsmInvocation,
  statusesJson,
} from '../../lib/cli/models/sync-report';

const now = new Date('2025-06-01T12:00:00Z');
const minutesAgo = (m: number) => new Date(now.getTime() - m * 60_000);
const DONE = '[model-sync] done: 1 downloaded (6.0 MiB), 0 deleted; cache holds 3 objects, 13.2 GiB';

describe('lastSummaryLine', () => {
  test('returns the last line the script printed, without its prefix', () => {
    const output = '[model-sync] keys sync of s3://b: 1 objects listed\nother tool noise\n' + DONE + '\n';
    expect(lastSummaryLine(output)).toBe('done: 1 downloaded (6.0 MiB), 0 deleted; cache holds 3 objects, 13.2 GiB');
  });

  test('reads lines split across log events and events holding several lines', () => {
    expect(lastSummaryLine(['[model-sync] progress: 1/2 files', '[model-sync] FAILED: the models do not fit\r\n'])).toBe('FAILED: the models do not fit');
  });

  test('is undefined when the script printed nothing', () => {
    expect(lastSummaryLine('')).toBeUndefined();
  });
});

describe('resultOfSsmStatus', () => {
  test.each([
    ['Success', 'Success'],
    ['Pending', 'InProgress'],
    ['InProgress', 'InProgress'],
    ['Delayed', 'InProgress'],
    ['Failed', 'Failed'],
    ['TimedOut', 'Failed'],
    ['Cancelled', 'Failed'],
  ])('maps %s to %s', (status, result) => {
    expect(resultOfSsmStatus(status)).toBe(result);
  });
});

describe('resultOfSummary', () => {
  test('reads the done and FAILED lines', () => {
    expect(resultOfSummary('done: 1 downloaded', minutesAgo(500), now)).toBe('Success');
    expect(resultOfSummary('FAILED: no space', minutesAgo(500), now)).toBe('Failed');
  });

  test('calls a run without an end line in progress while SSM could still be running it, unknown after', () => {
    expect(resultOfSummary('progress: 1/3 files', minutesAgo(10), now)).toBe('InProgress');
    expect(resultOfSummary(undefined, minutesAgo(71), now)).toBe('Unknown');
  });
});

describe('nodeStatuses', () => {
  const inv = (over: Partial<SsmInvocation>): SsmInvocation => ({
    instanceId: 'i-a', commandId: 'c1', status: 'Success', requestedAt: minutesAgo(30), endedAt: minutesAgo(29), output: '', ...over,
  });
  const log = (over: Partial<LogStreamReport>): LogStreamReport => ({
    instanceId: 'i-a', commandId: 'c1', lastEventAt: minutesAgo(29), lines: [DONE], ...over,
  });

  test('takes result and time from SSM and the summary from the log of the same command', () => {
    const [status] = nodeStatuses([inv({ status: 'Failed', output: '[model-sync] first lines only' })], [log({})], now);
    expect(status).toEqual({
      instanceId: 'i-a', commandId: 'c1', lastSync: minutesAgo(29), result: 'Failed', ssmStatus: 'Failed',
      summary: 'done: 1 downloaded (6.0 MiB), 0 deleted; cache holds 3 objects, 13.2 GiB',
    });
  });

  test("falls back to SSM's copy of the output when the log has no script line", () => {
    const [status] = nodeStatuses([inv({ output: DONE })], [log({ lines: [] })], now);
    expect(status.summary).toMatch(/^done: /);
  });

  test('prefers a newer log of another command and reads its result from the script line', () => {
    const [status] = nodeStatuses([inv({})], [log({ commandId: 'c2', lastEventAt: minutesAgo(2), lines: ['[model-sync] FAILED: disk full'] })], now);
    expect(status).toMatchObject({ commandId: 'c2', result: 'Failed', summary: 'FAILED: disk full', lastSync: minutesAgo(2) });
    expect(status.ssmStatus).toBeUndefined();
  });

  test('ignores an older log of another command', () => {
    const [status] = nodeStatuses([inv({ output: DONE })], [log({ commandId: 'c0', lastEventAt: minutesAgo(300), lines: ['[model-sync] FAILED: old'] })], now);
    expect(status).toMatchObject({ commandId: 'c1', result: 'Success', summary: expect.stringMatching(/^done:/) });
  });

  test('lists nodes from either source once each, sorted by instance id', () => {
    const statuses = nodeStatuses([inv({ instanceId: 'i-c' }), inv({ instanceId: 'i-a' })], [log({ instanceId: 'i-b' }), log({ instanceId: 'i-a' })], now);
    expect(statuses.map((s) => s.instanceId)).toEqual(['i-a', 'i-b', 'i-c']);
  });

  test('uses the request time of a command that has not started', () => {
    const [status] = nodeStatuses([inv({ status: 'Pending', endedAt: undefined, startedAt: undefined })], [], now);
    expect(status).toMatchObject({ result: 'InProgress', lastSync: minutesAgo(30), summary: undefined });
  });
});

describe('formatStatusTable', () => {
  test('aligns node, time, result (with SSM detail) and summary columns', () => {
    const text = formatStatusTable([
      { instanceId: 'i-0123456789abcdef0', commandId: 'c', lastSync: new Date('2025-06-01T11:58:30.250Z'), result: 'Success', ssmStatus: 'Success', summary: 'done: 1 downloaded' },
      { instanceId: 'i-1', commandId: 'c', result: 'Failed', ssmStatus: 'TimedOut' },
    ]);
    expect(text).toBe([
      'NODE                 LAST SYNC (UTC)       RESULT             SUMMARY',
      'i-0123456789abcdef0  2025-06-01T11:58:30Z  Success            done: 1 downloaded',
      'i-1                  -                     Failed (TimedOut)  -',
      '',
    ].join('\n'));
  });

  test('JSON keeps every field with ISO times', () => {
    expect(statusesJson([{ instanceId: 'i-1', commandId: 'c', result: 'Unknown', lastSync: now }])).toEqual([
      { instanceId: 'i-1', commandId: 'c', result: 'Unknown', lastSync: '2025-06-01T12:00:00.000Z' },
    ]);
  });
});

describe('parseSsmTime', () => {
  test('reads zoned times, reads zone-less times as UTC, and treats empty as not started', () => {
    expect(parseSsmTime('2025-06-01T10:00:00.123Z')).toEqual(new Date('2025-06-01T10:00:00.123Z'));
    expect(parseSsmTime('2025-06-01T10:00:00.123456')).toEqual(new Date('2025-06-01T10:00:00.123Z'));
    expect(parseSsmTime('2025-06-01T12:00:00+02:00')).toEqual(new Date('2025-06-01T10:00:00Z'));
    expect(parseSsmTime('')).toBeUndefined();
    expect(parseSsmTime('garbage')).toBeUndefined();
  });
});

describe('parseOutputStreamName', () => {
  test('reads command and instance from a Run Command stdout stream', () => {
    expect(parseOutputStreamName('0b1c-22/i-0abc/syncModels/stdout')).toEqual({ commandId: '0b1c-22', instanceId: 'i-0abc' });
  });

  test("reads a boot sync's stream, which the node names as SSM names its own (model_sync/boot_report.py)", () => {
    expect(parseOutputStreamName('boot-20261130T190000Z/i-0123456789abcdef0/syncModels/stdout'))
      .toEqual({ commandId: 'boot-20261130T190000Z', instanceId: 'i-0123456789abcdef0' });
  });

  test('skips stderr streams and streams of other writers', () => {
    expect(parseOutputStreamName('0b1c-22/i-0abc/syncModels/stderr')).toBeUndefined();
    expect(parseOutputStreamName('2025/06/01/[$LATEST]abc')).toBeUndefined();
  });
});
