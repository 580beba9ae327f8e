import * as blueprints from '@aws-quickstart/eks-blueprints';
import * as iam from 'aws-cdk-lib/aws-iam';
import { VPC_CNI_MANAGED_POLICY } from '../policies/node-role';

/**
 * How the VPC CNI's network policy agent treats a new pod until the NetworkPolicies that select it are in
 * place (https://docs.aws.amazon.com/eks/latest/userguide/cni-network-policy-configure.html, "Set up policy
 * enforcement at Pod startup"):
 * - `standard`: the pod starts allowing all traffic, until the agent has programmed its policies (seconds);
 * - `strict`: the pod starts denying all traffic, and one that no policy selects stays that way ("you must
 *   have a network policy for every endpoint that your pods need to access in your cluster. Note that this
 *   requirement applies to the CoreDNS pods"). Only host-network pods are exempt.
 *
 * We stay on `standard`, on purpose. The mode is cluster-wide, and only the `comfyui` namespace has
 * NetworkPolicies: in strict mode CoreDNS (every pod's DNS), Karpenter and the Load Balancer Controller
 * (the API server calls their webhooks; they call AWS), the Mountpoint CSI driver and the Mountpoint pods
 * in `mount-s3` (they reach S3) would all be cut off, and the first deploy would time out in `helm --wait`
 * for Karpenter's chart. Strict needs allow policies for kube-system and mount-s3 in place before their
 * pods start (they would only restate today's allow-all there), and upstream still reports strict-mode
 * denials despite an allow-all policy (https://github.com/aws/aws-network-policy-agent/issues/288). What
 * standard leaves open is the first seconds of a new pod in `comfyui`, before the namespace's default deny
 * reaches it; the ComfyUI pod's first init container (pod-scripts/wait_for_network_policy.py) closes that gap:
 * nothing else of the pod starts until a connection its egress policy forbids stops getting through.
 *
 * Written out rather than left to the add-on's default, so the choice shows in the template and a test
 * guards it: switching to `strict` means adding those policies first.
 */
export const NETWORK_POLICY_ENFORCING_MODE = 'standard';

/**
 * The VPC CNI add-on with NetworkPolicy enforcement on, in NETWORK_POLICY_ENFORCING_MODE.
 *
 * aws-node gets its own IRSA role with the CNI policy, so every node (system or Karpenter GPU node) can
 * attach ENIs and assign pod IPs without the policy on its node role. eks-blueprints creates the role and
 * passes it as the add-on's ServiceAccountRoleArn only when `serviceAccountPolicies` is given
 * (dist/addons/vpc-cni/index.js provideManagedPolicies). https://docs.aws.amazon.com/eks/latest/userguide/cni-iam-role.html
 */
export function vpcCniAddOn(version: string): blueprints.VpcCniAddOn {
  const addOn = new blueprints.VpcCniAddOn({
    version,
    enableNetworkPolicy: true,
    serviceAccountPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName(VPC_CNI_MANAGED_POLICY)],
  });
  // eks-blueprints 1.19.0 has no prop for the mode; its constructor builds the add-on's configuration values
  // (`env` holds the aws-node container's variables, the key the add-on's configuration schema names).
  const env = addOn.coreAddOnProps.configurationValues?.env;
  if (typeof env !== 'object' || env === null) {
    throw new Error('eks-blueprints VpcCniAddOn built no configurationValues.env: update lib/addons/vpc-cni.ts');
  }
  env.NETWORK_POLICY_ENFORCING_MODE = NETWORK_POLICY_ENFORCING_MODE;
  return addOn;
}
