import { CfnResource, Stack, Validations } from 'aws-cdk-lib';
import { rules as nagRules } from 'cdk-nag';
import { IConstruct } from 'constructs';

/**
 * One cdk-nag acknowledgement: the construct (path below its stack; `$CLUSTER` is the EKS cluster's id),
 * the rules it acknowledges, and why. IAM4/IAM5 report one finding per policy or wildcard, so those rules
 * are written `AwsSolutions-IAM5[Resource::...]` with the whole finding: bucket, cluster and log group
 * names, region and account come from the config, so a finding nobody expected (a new wildcard, a wildcard
 * on another bucket) still fails synth. `**` appears only where a finding embeds a CloudFormation logical
 * ID that CDK generates inside its own framework constructs (a hash of the construct path, which an
 * aws-cdk-lib upgrade may change); it stands for that one ID: letters and digits, nothing else.
 */
export interface Acknowledgement {
  readonly path: string;
  readonly rules: readonly string[];
  readonly reason: string;
}

/**
 * Applies acknowledgements to the constructs below `stack` (`$CLUSTER` in a path is `clusterId`); a path that
 * no longer exists, or an IAM finding that matches nothing, fails synth so stale entries cannot pile up.
 */
export function applyAcknowledgements(stack: Stack, acknowledgements: readonly Acknowledgement[], clusterId = ''): void {
  for (const { path, rules, reason } of acknowledgements) {
    const construct = findByPath(stack, path.replace('$CLUSTER', clusterId));
    for (const rule of rules) {
      const granular = /^(AwsSolutions-IAM[45])\[(.+)\]$/.exec(rule);
      if (granular) acknowledgeFindings(construct, granular[1], granular[2], reason);
      else Validations.of(construct).acknowledge({ id: rule, reason });
    }
  }
}

const IAM_RULES: Record<string, (node: CfnResource) => unknown> = {
  'AwsSolutions-IAM4': nagRules.iam.IAMNoManagedPolicies,
  'AwsSolutions-IAM5': nagRules.iam.IAMNoWildcardPermissions,
};

/**
 * Runs the IAM rule over every resource below `construct` and acknowledges each finding that matches
 * `pattern`, by its exact id, on the resource that produced it.
 */
function acknowledgeFindings(construct: IConstruct, ruleId: string, pattern: string, reason: string): void {
  const matcher = new RegExp(`^${pattern.split('**').map(escapeRegExp).join('[A-Za-z0-9]+')}$`);
  let matched = false;
  for (const node of construct.node.findAll()) {
    if (!(node instanceof CfnResource)) continue;
    const findings = IAM_RULES[ruleId](node);
    if (!Array.isArray(findings)) continue;
    for (const finding of findings as string[]) {
      if (!matcher.test(finding)) continue;
      recordAcknowledgement(node, `${ruleId}[${finding}]`, reason);
      matched = true;
    }
  }
  if (!matched) {
    throw new Error(`cdk-nag acknowledgement ${ruleId}[${pattern}] on '${construct.node.path}' matches no finding; update lib/nag.ts`);
  }
}

/**
 * Writes the acknowledgement into the construct metadata cdk-nag reads. `Validations.acknowledge()` would
 * write the same entry, but rejects IDs holding '::', and every IAM finding holds one (`Policy::arn:...`).
 */
function recordAcknowledgement(node: IConstruct, id: string, reason: string): void {
  node.node.addMetadata(Validations.ACKNOWLEDGED_RULES_METADATA_KEY, { [id]: reason });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function findByPath(stack: Stack, path: string): IConstruct {
  let current: IConstruct = stack;
  for (const id of path.split('/')) {
    const child = current.node.tryFindChild(id);
    if (!child) throw new Error(`cdk-nag acknowledgement for '${stack.node.id}/${path}': no such construct; update lib/nag.ts`);
    current = child;
  }
  return current;
}
