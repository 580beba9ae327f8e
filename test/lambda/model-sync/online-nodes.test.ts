import {
  DescribeInstanceInformationCommand,
  DescribeInstanceInformationCommandInput,
  InstanceInformation,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DESCRIBE_PAGE_SIZE, findOnlineNodes, splitByPingStatus } from '../../../lambda/model-sync/online-nodes';

const info = (InstanceId: string, PingStatus: InstanceInformation['PingStatus']): InstanceInformation =>
  ({ InstanceId, PingStatus });

describe('splitByPingStatus', () => {
  it('keeps the nodes SSM reports Online and sets aside the ones it does not know or cannot reach', () => {
    const split = splitByPingStatus(
      ['i-booting', 'i-b', 'i-lost', 'i-a', 'i-gone'],
      [info('i-a', 'Online'), info('i-lost', 'ConnectionLost'), info('i-b', 'Online'), info('i-gone', 'Inactive')],
    );
    expect(split).toEqual({ online: ['i-a', 'i-b'], notOnline: ['i-booting', 'i-gone', 'i-lost'] });
  });

  it('ignores nodes SSM reports that were not asked about, and duplicates', () => {
    expect(splitByPingStatus(['i-a', 'i-a'], [info('i-a', 'Online'), info('i-other', 'Online')]))
      .toEqual({ online: ['i-a'], notOnline: [] });
  });

  it('finds no node online when SSM knows none of them', () => {
    expect(splitByPingStatus(['i-a', 'i-b'], [])).toEqual({ online: [], notOnline: ['i-a', 'i-b'] });
  });
});

describe('findOnlineNodes', () => {
  const ssm = mockClient(SSMClient);
  beforeEach(() => ssm.reset());

  it('asks about at most 100 nodes per request, reads every page of 50, and asks nothing for no nodes', async () => {
    // Prepare: 230 running nodes; SSM answers each request in pages of at most 50, all Online but i-0007.
    const ids = Array.from({ length: 230 }, (_, i) => `i-${String(i).padStart(4, '0')}`);
    const inputs: DescribeInstanceInformationCommandInput[] = []; // copies: the paginator reuses its input
    ssm.on(DescribeInstanceInformationCommand).callsFake((input) => {
      inputs.push(structuredClone(input));
      const asked: string[] = input.Filters[0].Values;
      const start = Number(input.NextToken ?? 0);
      const page = asked.slice(start, start + input.MaxResults);
      return {
        InstanceInformationList: page.map((id) => info(id, id === 'i-0007' ? 'ConnectionLost' : 'Online')),
        NextToken: start + input.MaxResults < asked.length ? String(start + input.MaxResults) : undefined,
      };
    });

    // Act
    const split = await findOnlineNodes(new SSMClient({ region: 'us-west-2' }), [...ids].reverse());

    // Assess
    expect(inputs.map((i) => [i.Filters![0].Values!.length, i.NextToken ?? null])).toEqual([
      [100, null], [100, '50'], [100, null], [100, '50'], [30, null],
    ]);
    expect(inputs.every((i) => i.Filters![0].Key === 'InstanceIds' && i.MaxResults === DESCRIBE_PAGE_SIZE)).toBe(true);
    expect(new Set(inputs.flatMap((i) => i.Filters![0].Values!))).toEqual(new Set(ids));
    expect(split).toEqual({ online: ids.filter((id) => id !== 'i-0007'), notOnline: ['i-0007'] });

    ssm.reset();
    expect(await findOnlineNodes(new SSMClient({ region: 'us-west-2' }), [])).toEqual({ online: [], notOnline: [] });
    expect(ssm.commandCalls(DescribeInstanceInformationCommand)).toHaveLength(0);
  });
});
