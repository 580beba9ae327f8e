/**
 * The address block that holds the ALB's subnets and nothing else. The ALB subnet group comes first in the
 * VPC, so CDK allocates its /27 subnets (one per AZ, at most three) inside the VPC's first /24, and the
 * next group starts at the following /24. NetworkPolicies admit this block on ComfyUI's port: that is
 * exactly the ALB. ClusterVpcProvider checks the allocation at synth time.
 */
export const ALB_SUBNET_MASK = 27;
const ALB_BLOCK_MASK = 24;

export function albSubnetsCidr(vpcCidr: string): string {
  const [address, mask] = vpcCidr.split('/');
  if (Number(mask) > ALB_BLOCK_MASK - 2) {
    throw new Error(`VPC CIDR ${vpcCidr} is too small: the ALB subnets need its first /${ALB_BLOCK_MASK}`);
  }
  const network = ipToNumber(address) & maskBits(Number(mask));
  return `${numberToIp(network)}/${ALB_BLOCK_MASK}`;
}

/** Whether CIDR `inner` lies wholly inside CIDR `outer`. */
export function cidrContains(outer: string, inner: string): boolean {
  const [outerIp, outerMask] = outer.split('/');
  const [innerIp, innerMask] = inner.split('/');
  if (Number(innerMask) < Number(outerMask)) return false;
  const bits = maskBits(Number(outerMask));
  return ((ipToNumber(outerIp) & bits) >>> 0) === ((ipToNumber(innerIp) & bits) >>> 0);
}

/** Whether two CIDRs share any address. */
export function cidrsOverlap(a: string, b: string): boolean {
  return cidrContains(a, b) || cidrContains(b, a);
}

function maskBits(mask: number): number {
  return mask === 0 ? 0 : (~0 << (32 - mask)) >>> 0;
}

function ipToNumber(ip: string): number {
  return ip.split('.').reduce((n, octet) => ((n << 8) | Number(octet)) >>> 0, 0);
}

function numberToIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => (n >>> shift) & 255).join('.');
}
