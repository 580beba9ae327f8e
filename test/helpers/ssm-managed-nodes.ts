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
 * - DescribeInstanceInformation is answered here in the API's shape, within its limits (MaxResults 5..50,
 *   NextToken paging), filtered by ResourceType; an InstanceIds filter naming a node SSM does not know fails with
 *   InvalidInstanceId, as the reference says ("If you specify a node ID that isn't valid ... you receive an
 *   error"), so code that filters by the ids of booting nodes fails here as it would on AWS;
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

  /**
   * The next full DescribeInstanceInformation listing (every page of it) still reports these nodes; then SSM no
   * longer knows them. Forgetting them after the first page instead would hide them from the later pages of the
   * same listing whenever their random ids sort past the first 50.
   */
  dropAfterNextDescribe(instanceIds: readonly string[]): void {
    this.forgetAfterDescribe.push(...instanceIds);
  }

  private describe(request: any): ProxyReply {
    this.describeRequests.push(request);
    const filters: any[] = request.Filters ?? [];
    const byType = filters.find((f) => f.Key === 'ResourceType');
    const byId = filters.find((f) => f.Key === 'InstanceIds');
    if (filters.some((f) => !['ResourceType', 'InstanceIds'].includes(f.Key))) return invalid('InvalidFilterKey', 'unsupported filter key');
    if (byType && JSON.stringify(byType.Values) !== '["EC2Instance"]') return invalid('InvalidFilterValue', 'this stand-in manages EC2Instance only');
    const unknownIds = (byId?.Values ?? []).filter((id: string) => !this.status.has(id));
    if (unknownIds.length > 0) return invalid('InvalidInstanceId', `Instances [[${unknownIds.join(', ')}]] are not valid`);
    const pageSize = request.MaxResults ?? 10;
    if (pageSize < 5 || pageSize > 50) return invalid('ValidationException', `MaxResults must be 5..50, got ${pageSize}`);
    const start = Number(request.NextToken ?? 0);
    if (!Number.isInteger(start)) return invalid('InvalidNextToken', 'The specified token is not valid.');

    const known = (byId ? [...new Set<string>(byId.Values)] : [...this.status.keys()]).sort();
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
    const lastPage = body.NextToken === undefined;
    if (lastPage) for (const id of this.forgetAfterDescribe.splice(0)) this.status.delete(id);
    return { status: 200, body };
  }

  private checkTargets(request: any): ProxyReply | undefined {
    const unknown = (request.InstanceIds ?? []).filter((id: string) => !this.status.has(id));
    if (unknown.length === 0) return undefined;
    return invalid('InvalidInstanceId', `Instances [[${unknown.join(', ')}]] not in a valid state for account 123456789012`);
  }
}
