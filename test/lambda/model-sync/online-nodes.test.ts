import {
  DescribeInstanceInformationCommand,
  DescribeInstanceInformationCommandInput,
  InstanceInformation,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { BOOT_GRACE_MS, classifyNodes, DESCRIBE_PAGE_SIZE, findNodeReadiness } from '../../../lambda/model-sync/online-nodes';

const info = (InstanceId: string, PingStatus: InstanceInformation['PingStatus']): InstanceInformation =>
  ({ InstanceId, PingStatus });
const NOW = new Date('2026-11-30T12:00:00Z');
const launched = (instanceId: string, msAgo: number) => ({ instanceId, launchTime: new Date(NOW.getTime() - msAgo) });

describe('classifyNodes', () => {
  it('sends to Online nodes, waits for nodes launched minutes ago, and gives up on the rest', () => {
    const readiness = classifyNodes(
      [
        launched('i-b', 60_000), launched('i-a', 3_600_000), launched('i-lost', 3_600_000), launched('i-gone', 60_000),
        launched('i-booting', 90_000), launched('i-never', BOOT_GRACE_MS + 1),
      ],
      [info('i-a', 'Online'), info('i-lost', 'ConnectionLost'), info('i-b', 'Online'), info('i-gone', 'Inactive')],
      NOW,
    );
    expect(readiness).toEqual({ online: ['i-a', 'i-b'], booting: ['i-booting'], unreachable: ['i-gone', 'i-lost', 'i-never'] });
  });

  it('ignores managed nodes that are not targets, and duplicate targets', () => {
    expect(classifyNodes([launched('i-a', 1), launched('i-a', 1)], [info('i-a', 'Online'), info('i-other', 'Online')], NOW))
      .toEqual({ online: ['i-a'], booting: [], unreachable: [] });
  });

  it('takes a node without a launch time that SSM does not know as unreachable, not booting forever', () => {
    expect(classifyNodes([{ instanceId: 'i-a' }], [], NOW)).toEqual({ online: [], booting: [], unreachable: ['i-a'] });
  });
});

describe('findNodeReadiness', () => {
  const ssm = mockClient(SSMClient);
  beforeEach(() => ssm.reset());

  it('reads every page of managed EC2 nodes without naming an instance id, and asks nothing for no nodes', async () => {
    // Prepare: 120 managed nodes in the account, in pages of 50; the cluster's 3 targets are among them.
    const managed = Array.from({ length: 120 }, (_, i) => info(`i-${String(i).padStart(4, '0')}`, i === 7 ? 'ConnectionLost' : 'Online'));
    const inputs: DescribeInstanceInformationCommandInput[] = []; // copies: the paginator reuses its input
    ssm.on(DescribeInstanceInformationCommand).callsFake((input) => {
      inputs.push(structuredClone(input));
      const start = Number(input.NextToken ?? 0);
      return {
        InstanceInformationList: managed.slice(start, start + input.MaxResults),
        NextToken: start + input.MaxResults < managed.length ? String(start + input.MaxResults) : undefined,
      };
    });

    // Act
    const readiness = await findNodeReadiness(
      new SSMClient({ region: 'us-west-2' }),
      [launched('i-0119', 1), launched('i-0007', 1), launched('i-0003', 1)],
      NOW,
    );

    // Assess: an InstanceIds filter would make SSM refuse the ids of booting nodes, so none is sent.
    expect(inputs.map((i) => i.NextToken ?? null)).toEqual([null, '50', '100']);
    for (const input of inputs) {
      expect(input).toMatchObject({ MaxResults: DESCRIBE_PAGE_SIZE, Filters: [{ Key: 'ResourceType', Values: ['EC2Instance'] }] });
    }
    expect(readiness).toEqual({ online: ['i-0003', 'i-0119'], booting: [], unreachable: ['i-0007'] });

    ssm.reset();
    expect(await findNodeReadiness(new SSMClient({ region: 'us-west-2' }), [], NOW)).toEqual({ online: [], booting: [], unreachable: [] });
    expect(ssm.commandCalls(DescribeInstanceInformationCommand)).toHaveLength(0);
  });
});
