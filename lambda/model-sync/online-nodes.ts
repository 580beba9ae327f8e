import { InstanceInformation, paginateDescribeInstanceInformation, SSMClient } from '@aws-sdk/client-ssm';
import { chunk } from './planner';

/**
 * DescribeInstanceInformation takes at most 100 values per filter and returns at most 50 nodes per page
 * (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DescribeInstanceInformation.html,
 * InstanceInformationStringFilter and MaxResults).
 */
export const DESCRIBE_FILTER_MAX_VALUES = 100;
export const DESCRIBE_PAGE_SIZE = 50;

/** Running nodes split by whether SSM can deliver a command to them now. */
export interface NodeReadiness {
  /** SSM reports them Online: SendCommand reaches them. */
  readonly online: string[];
  /**
   * Running in EC2 but not Online in SSM: still booting (the agent has not registered yet, and SendCommand
   * would fail the whole call with InvalidInstanceId) or their agent stopped answering. Booting nodes sync
   * their models at boot.
   */
  readonly notOnline: string[];
}

/** Splits `instanceIds` by the PingStatus SSM reported for them; an id SSM does not know is not Online. */
export function splitByPingStatus(
  instanceIds: readonly string[],
  reported: readonly InstanceInformation[],
): NodeReadiness {
  const online = new Set(reported.filter((i) => i.PingStatus === 'Online').map((i) => i.InstanceId));
  const ids = [...new Set(instanceIds)].sort();
  return { online: ids.filter((id) => online.has(id)), notOnline: ids.filter((id) => !online.has(id)) };
}

/** Asks SSM which of the running nodes are Online: one paginated DescribeInstanceInformation per 100 ids. */
export async function findOnlineNodes(ssm: SSMClient, instanceIds: readonly string[]): Promise<NodeReadiness> {
  const reported: InstanceInformation[] = [];
  for (const ids of chunk([...new Set(instanceIds)].sort(), DESCRIBE_FILTER_MAX_VALUES)) {
    const pages = paginateDescribeInstanceInformation(
      { client: ssm, pageSize: DESCRIBE_PAGE_SIZE },
      { Filters: [{ Key: 'InstanceIds', Values: ids }] },
    );
    for await (const page of pages) reported.push(...(page.InstanceInformationList ?? []));
  }
  return splitByPingStatus(instanceIds, reported);
}
