import { errorReply, FaultProxy, ProxyReply } from './fault-proxy';

export type PingStatus = 'Online' | 'ConnectionLost' | 'Inactive';

const DESCRIBE = 'AmazonSSM.DescribeInstanceInformation';
const SEND_COMMAND = 'AmazonSSM.SendCommand';

const invalid = (type: string, message: string): ProxyReply => errorReply({ status: 400, type, message });

/**
 * SSM's registry of managed nodes, which moto 5.2.5 does not keep: its SSM implements no
 * DescribeInstanceInformation, and its SendCommand accepts any instance id. Served by the fault proxy in
 * front of moto, following the API reference
 * (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DescribeInstanceInformation.html):
 * - DescribeInstanceInformation is answered here in the API's shape, within its limits (an InstanceIds filter
 *   of 1..100 values, MaxResults 5..50, NextToken paging); nodes SSM does not know are left out;
 * - SendCommand naming a node SSM does not know fails whole with InvalidInstanceId, as it does for a node
 *   whose agent has not registered yet; any other SendCommand goes on to moto.
 */
export class ManagedNodes {
  private readonly status = new Map<string, PingStatus>();
  private forgetAfterDescribe: string[] = [];
  /** Every DescribeInstanceInformation request, as sent. */
  readonly describeRequests: any[] = [];

  constructor(proxy: FaultProxy) {
    proxy.respond(DESCRIBE, (request) => this.describe(request));
    proxy.respond(SEND_COMMAND, (request) => this.checkTargets(request));
  }

  /** The nodes' agents have registered and report `status`. */
  register(instanceIds: readonly string[], status: PingStatus = 'Online'): void {
    for (const id of instanceIds) this.status.set(id, status);
  }

  /** The next DescribeInstanceInformation still reports these nodes; then SSM no longer knows them. */
  dropAfterNextDescribe(instanceIds: readonly string[]): void {
    this.forgetAfterDescribe.push(...instanceIds);
  }

  private describe(request: any): ProxyReply {
    this.describeRequests.push(request);
    const filters: any[] = request.Filters ?? [];
    const idFilter = filters.find((f) => f.Key === 'InstanceIds');
    if (filters.length !== 1 || !idFilter) return invalid('InvalidFilterKey', 'expected one InstanceIds filter');
    if (idFilter.Values.length < 1 || idFilter.Values.length > 100) {
      return invalid('ValidationException', `InstanceIds takes 1..100 values, got ${idFilter.Values.length}`);
    }
    const pageSize = request.MaxResults ?? 10;
    if (pageSize < 5 || pageSize > 50) return invalid('ValidationException', `MaxResults must be 5..50, got ${pageSize}`);
    const start = Number(request.NextToken ?? 0);
    if (!Number.isInteger(start)) return invalid('InvalidNextToken', 'The specified token is not valid.');

    const known = [...new Set<string>(idFilter.Values)].filter((id) => this.status.has(id)).sort();
    const page = known.slice(start, start + pageSize);
    const body = {
      InstanceInformationList: page.map((id) => ({
        InstanceId: id,
        PingStatus: this.status.get(id),
        LastPingDateTime: Date.now() / 1000,
        AgentVersion: '3.3.1802.0',
        PlatformType: 'Linux',
        PlatformName: 'Amazon Linux',
        ResourceType: 'EC2Instance',
      })),
      ...(start + pageSize < known.length ? { NextToken: String(start + pageSize) } : {}),
    };
    for (const id of this.forgetAfterDescribe.splice(0)) this.status.delete(id);
    return { status: 200, body };
  }

  private checkTargets(request: any): ProxyReply | undefined {
    const unknown = (request.InstanceIds ?? []).filter((id: string) => !this.status.has(id));
    if (unknown.length === 0) return undefined;
    return invalid('InvalidInstanceId', `Instances [[${unknown.join(', ')}]] not in a valid state for account 123456789012`);
  }
}
