import { expect } from 'vitest';
import { STACK_NAMES } from '../../lib/names';
import { SynthesizedApp } from './synth-app';

type Resources = Record<string, { Type: string; Properties?: any }>;

/**
 * Inbound rules of every security group attached to the ComfyUI ALB, found through the ALB's own
 * SecurityGroups: inline rules, separate SecurityGroupIngress resources in the cluster stack, and those other
 * stacks add through the cluster stack's export of the group's id (CloudFront's VPC-origin rule).
 */
export function albIngress(app: SynthesizedApp): any[] {
  const cluster = app.templates[STACK_NAMES.cluster].toJSON().Resources as Resources;
  const albs = Object.values(cluster).filter((r) => r.Type === 'AWS::ElasticLoadBalancingV2::LoadBalancer');
  expect(albs).toHaveLength(1);
  const groupIds: string[] = albs[0].Properties.SecurityGroups.map((ref: any) => ref['Fn::GetAtt'][0]);
  const inline = groupIds.flatMap((id) => cluster[id].Properties.SecurityGroupIngress ?? []);
  const targetsAlbGroup = (groupId: any): boolean =>
    groupIds.includes(groupId?.['Fn::GetAtt']?.[0]) ||
    groupIds.some((id) => String(groupId?.['Fn::ImportValue'] ?? '').includes(`${id}GroupId`));
  const separate = Object.values(app.templates).flatMap((template) =>
    Object.values(template.toJSON().Resources as Resources)
      .filter((r) => r.Type === 'AWS::EC2::SecurityGroupIngress')
      .map((r) => r.Properties)
      .filter((p) => targetsAlbGroup(p.GroupId)),
  );
  return [...inline, ...separate];
}
