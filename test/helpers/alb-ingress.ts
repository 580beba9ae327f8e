import { expect } from 'vitest';
import { STACK_NAMES } from '../../lib/names';
import { SynthesizedApp } from './synth-app';

/**
 * Inbound rules of every security group attached to the ComfyUI ALB, found through the ALB's own
 * SecurityGroups, whether inline or separate SecurityGroupIngress resources.
 */
export function albIngress(app: SynthesizedApp): any[] {
  const cluster = app.templates[STACK_NAMES.cluster].toJSON().Resources as Record<string, { Type: string; Properties?: any }>;
  const albs = Object.values(cluster).filter((r) => r.Type === 'AWS::ElasticLoadBalancingV2::LoadBalancer');
  expect(albs).toHaveLength(1);
  const groupIds: string[] = albs[0].Properties.SecurityGroups.map((ref: any) => ref['Fn::GetAtt'][0]);
  const inline = groupIds.flatMap((id) => cluster[id].Properties.SecurityGroupIngress ?? []);
  const separate = Object.values(cluster)
    .filter((r) => r.Type === 'AWS::EC2::SecurityGroupIngress')
    .map((r) => r.Properties)
    .filter((p) => groupIds.includes(p.GroupId?.['Fn::GetAtt']?.[0]));
  return [...inline, ...separate];
}
