import { CheckVerdict, failed, passed, warned } from '../check-verdict';
import { DoctorFacts } from '../doctor-facts';

/** No sync command (SSM fan-out or boot sync) failed in the looked-at window, on any node, present or gone. */
export function checkRecentSyncFailures(facts: DoctorFacts): CheckVerdict {
  const NAME = 'sync-failures';
  const window = `since ${facts.syncSince.toISOString()}`;
  if ('error' in facts.syncStatuses) return warned(NAME, `not read: ${facts.syncStatuses.error}`, 'comfyctl models status');
  const statuses = facts.syncStatuses.ok;
  const failures = statuses.filter((s) => s.result === 'Failed');
  if (failures.length > 0) {
    const list = failures.map((s) => `${s.instanceId} ${s.ssmStatus ?? s.result} (${s.commandId})${s.summary ? `: ${s.summary}` : ''}`);
    return failed(NAME, `${failures.length} of ${statuses.length} nodes' newest sync failed ${window}: ${list.join('; ')}`,
      'comfyctl models status; for SSM: aws ssm get-command-invocation --command-id <id> --instance-id <node>');
  }
  const reported = `${statuses.length} node${statuses.length === 1 ? '' : 's'} reported ${window}, none failed`;
  if (facts.syncSourceUnread) return warned(NAME, `${reported}; one source not read: ${facts.syncSourceUnread}`, 'check that your role may read SSM commands and the sync log group');
  return passed(NAME, reported);
}
