import { beforeAll, describe, expect, test } from 'vitest';
import { KUBERNETES_API_SERVICE_IP } from '../../lib/names';
import { NETWORK_POLICY_ENFORCING_MODE } from '../../lib/addons/vpc-cni';
import { findDocument, renderedBase } from '../helpers/rendered-manifests';

/**
 * The VPC CNI stays in `standard` mode (lib/addons/vpc-cni.ts), which leaves a new pod open until its
 * NetworkPolicies are programmed. A ComfyUI pod therefore runs nothing of its own before its first init
 * container has seen a connection its egress policy forbids stop getting through.
 */
describe('a ComfyUI pod waits for its NetworkPolicies before it runs anything', () => {
  let docs: any[];
  beforeAll(() => {
    docs = renderedBase();
  });

  test('the first init container probes an address, and only the address, that the pod\'s egress policy forbids', () => {
    expect(NETWORK_POLICY_ENFORCING_MODE).toBe('standard');
    const pod = findDocument(docs, 'Deployment', 'comfyui').spec.template.spec;
    const [first] = pod.initContainers;
    expect(first.name).toBe('wait-for-network-policy');
    expect(first.restartPolicy).toBeUndefined(); // a plain init container: the pod waits for it to exit 0
    expect(first.command).toEqual(['python3', '/opt/comfyui-pod/wait_for_network_policy.py']);
    const probe = first.args.find((a: string) => a.startsWith('--probe='));
    expect(probe).toBe(`--probe=${KUBERNETES_API_SERVICE_IP}:443`);

    // ComfyUI's egress: DNS to CoreDNS pods only (a pod selector, no ipBlock), so the API service address is
    // refused once the policy is enforced, and reachable before.
    const policy = findDocument(docs, 'NetworkPolicy', 'comfyui');
    expect(findDocument(docs, 'Deployment', 'comfyui').spec.template.metadata.labels).toMatchObject(policy.spec.podSelector.matchLabels);
    const egress = policy.spec.egress as any[];
    expect(egress.flatMap((rule) => rule.to ?? [{}]).every((peer: any) => peer.ipBlock === undefined && peer.podSelector)).toBe(true);
    expect(egress.flatMap((rule) => rule.ports ?? []).map((p: any) => p.port)).not.toContain(443);
  });

  test('it mounts nothing but the pod scripts and holds no credentials', () => {
    const pod = findDocument(docs, 'Deployment', 'comfyui').spec.template.spec;
    const [first] = pod.initContainers;
    expect(first.volumeMounts.map((m: any) => m.name)).toEqual(['pod-scripts']);
    expect(first.env).toBeUndefined();
    expect(pod.automountServiceAccountToken).toBe(false);
  });
});
