import { Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';

/**
 * The EventBridge events Karpenter 1.13 turns into interruption handling, as (source, detail-type) pairs: each
 * parser under pkg/controllers/interruption/messages/ of github.com/aws/karpenter-provider-aws@v1.13.0 returns
 * one pair from Source() and DetailType(). A rule whose pattern names anything else delivers nothing.
 * test/lib/karpenter-interruption-events.test.ts compares this list with that source in `npm test`.
 */
export const KARPENTER_INTERRUPTION_EVENTS = {
  scheduledChange: { source: 'aws.health', detailType: 'AWS Health Event' },
  spotInterruption: { source: 'aws.ec2', detailType: 'EC2 Spot Instance Interruption Warning' },
  rebalanceRecommendation: { source: 'aws.ec2', detailType: 'EC2 Instance Rebalance Recommendation' },
  stateChange: { source: 'aws.ec2', detailType: 'EC2 Instance State-change Notification' },
  capacityReservationInterruption: { source: 'aws.ec2', detailType: 'EC2 Capacity Reservation Instance Interruption Warning' },
} as const;

/**
 * Rules eks-blueprints 1.19.0 (addons/karpenter/karpenter-v1.js createInterruptionQueue) creates in the
 * cluster stack, by construct id, with the event each must match. Its state-change rule names the detail-type
 * "C2 Instance State-change Notification" (the E is missing), so Karpenter never hears that a node was
 * stopped or terminated outside Kubernetes; the pattern is rewritten here. Capacity-reservation interruptions
 * get no rule: no NodePool here launches into a capacity reservation.
 */
const BLUEPRINT_RULES: Record<string, keyof typeof KARPENTER_INTERRUPTION_EVENTS> = {
  'schedule-change-rule': 'scheduledChange',
  'spot-interruption-rule': 'spotInterruption',
  'rebalance-rule': 'rebalanceRecommendation',
  'inst-state-change-rule': 'stateChange',
};

/** Sets each blueprint interruption rule's pattern to the event Karpenter parses; a renamed rule fails synth. */
export function fixKarpenterInterruptionRules(stack: Stack): void {
  for (const [id, kind] of Object.entries(BLUEPRINT_RULES)) {
    const rule = stack.node.tryFindChild(id);
    if (!(rule instanceof events.Rule)) {
      throw new Error(
        `eks-blueprints' Karpenter interruption rule '${id}' not found in the cluster stack; an eks-blueprints ` +
          'upgrade may have renamed it: update lib/constructs/karpenter-interruption-rules.ts',
      );
    }
    const { source, detailType } = KARPENTER_INTERRUPTION_EVENTS[kind];
    const cfn = rule.node.defaultChild as events.CfnRule;
    cfn.addPropertyOverride('EventPattern', { source: [source], 'detail-type': [detailType] });
  }
}
