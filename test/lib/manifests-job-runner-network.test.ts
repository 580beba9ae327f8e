import { beforeAll, describe, expect, test } from 'vitest';
import { POD_IDENTITY_AGENT_ADDRESS } from '../../lib/manifests/manifest-values';
import { COMFYUI_NAMESPACE, COMFYUI_PORT, KUBERNETES_API_SERVICE_IP } from '../../lib/names';
import { findDocument, renderedBase } from '../helpers/rendered-manifests';

/**
 * The rendered NetworkPolicies read as data and evaluated as Kubernetes does
 * (https://kubernetes.io/docs/concepts/services-networking/network-policies/): a connection is allowed in one
 * direction when some policy of the namespace selects the pod for that direction and one of its rules admits
 * the peer and port, or when no policy selects the pod for it. Only the fields our policies use are understood;
 * anything else fails the test rather than being ignored.
 */
interface Endpoint {
  readonly labels?: Record<string, string>;
  readonly namespace?: string;
  readonly ip: string;
}
type Direction = 'Ingress' | 'Egress';

const ipNumber = (ip: string) => ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  return Math.floor(ipNumber(ip) / size) === Math.floor(ipNumber(base) / size);
}

function labelsMatch(selector: any, labels: Record<string, string> = {}): boolean {
  const known = new Set(['matchLabels']);
  for (const key of Object.keys(selector ?? {})) if (!known.has(key)) throw new Error(`selector field ${key} not understood`);
  return Object.entries(selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
}

function peerMatches(peer: any, other: Endpoint): boolean {
  if (peer.ipBlock) {
    return inCidr(other.ip, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((c: string) => inCidr(other.ip, c));
  }
  if (other.namespace === undefined) return false; // not a pod: only ipBlocks name it
  const namespaceOk = peer.namespaceSelector
    ? labelsMatch(peer.namespaceSelector, { 'kubernetes.io/metadata.name': other.namespace })
    : other.namespace === COMFYUI_NAMESPACE;
  return namespaceOk && (peer.podSelector === undefined || labelsMatch(peer.podSelector, other.labels));
}

function allowed(policies: any[], pod: Endpoint, direction: Direction, other: Endpoint, port: number, protocol = 'TCP'): boolean {
  const selecting = policies.filter((p) => p.spec.policyTypes.includes(direction) && labelsMatch(p.spec.podSelector, pod.labels));
  if (selecting.length === 0) return true;
  const side = direction === 'Ingress' ? 'from' : 'to';
  return selecting.some((p) => (p.spec[direction.toLowerCase()] ?? []).some((rule: any) =>
    (rule[side] === undefined || rule[side].some((peer: any) => peerMatches(peer, other)))
    && (rule.ports === undefined || rule.ports.some((r: any) => r.port === port && (r.protocol ?? 'TCP') === protocol))));
}

/** Whether a connection from `client` to `server`:`port` passes both the client's egress and the server's ingress. */
function connects(policies: any[], client: Endpoint, server: Endpoint, port: number, protocol = 'TCP'): boolean {
  const egress = client.namespace !== COMFYUI_NAMESPACE || allowed(policies, client, 'Egress', server, port, protocol);
  const ingress = server.namespace !== COMFYUI_NAMESPACE || allowed(policies, server, 'Ingress', client, port, protocol);
  return egress && ingress;
}

describe('the NetworkPolicies between the job runner and the ComfyUI pods', () => {
  let policies: any[];
  let runner: Endpoint;
  let comfyui: Endpoint;
  let gate: Endpoint;
  const coreDns: Endpoint = { labels: { 'k8s-app': 'kube-dns' }, namespace: 'kube-system', ip: '10.40.2.10' };
  const outside = (ip: string): Endpoint => ({ ip });

  beforeAll(() => {
    const docs = renderedBase();
    policies = docs.filter((d) => d.kind === 'NetworkPolicy');
    const podOf = (kind: string, name: string, ip: string): Endpoint =>
      ({ labels: findDocument(docs, kind, name).spec.template.metadata.labels, namespace: COMFYUI_NAMESPACE, ip });
    runner = podOf('Deployment', 'job-runner', '10.40.3.7');
    comfyui = podOf('Deployment', 'comfyui', '10.40.5.9');
    gate = podOf('DaemonSet', 'model-gate', '10.40.5.10');
  });

  test('the runner reaches ComfyUI on its port, and on no other', () => {
    expect(connects(policies, runner, comfyui, COMFYUI_PORT)).toBe(true);
    expect(connects(policies, runner, comfyui, 8080)).toBe(false);
  });

  test("ComfyUI's ingress admits the runner's pods on its port, and other pods of the namespace not at all", () => {
    expect(allowed(policies, comfyui, 'Ingress', runner, COMFYUI_PORT)).toBe(true);
    expect(allowed(policies, comfyui, 'Ingress', gate, COMFYUI_PORT)).toBe(false);
    expect(allowed(policies, comfyui, 'Ingress', { ...runner, namespace: 'other' }, COMFYUI_PORT)).toBe(false);
  });

  test('nothing reaches the runner, and ComfyUI still reaches nothing but DNS (not the runner, not AWS)', () => {
    expect(connects(policies, comfyui, runner, 8080)).toBe(false);
    expect(connects(policies, gate, runner, 8080)).toBe(false);
    expect(connects(policies, comfyui, coreDns, 53, 'UDP')).toBe(true);
    expect(connects(policies, comfyui, outside('52.94.133.131'), 443)).toBe(false);
  });

  test("the runner's egress admits DNS, the API server, the Pod Identity agent and public AWS endpoints on 443", () => {
    expect(connects(policies, runner, coreDns, 53, 'UDP')).toBe(true);
    expect(connects(policies, runner, coreDns, 53, 'TCP')).toBe(true);
    expect(connects(policies, runner, outside(KUBERNETES_API_SERVICE_IP), 443)).toBe(true);
    expect(connects(policies, runner, outside(POD_IDENTITY_AGENT_ADDRESS), 80)).toBe(true);
    // sqs.eu-west-1.amazonaws.com and dynamodb.eu-west-1.amazonaws.com resolve to public addresses like these.
    expect(connects(policies, runner, outside('52.94.133.131'), 443)).toBe(true);
    expect(connects(policies, runner, outside('3.248.8.1'), 443)).toBe(true);
  });

  test('and nothing else: no plain HTTP out, no other port on the agent, no private address outside the VPC', () => {
    expect(connects(policies, runner, outside('52.94.133.131'), 80)).toBe(false);
    expect(connects(policies, runner, outside(POD_IDENTITY_AGENT_ADDRESS), 443)).toBe(false);
    expect(connects(policies, runner, outside('169.254.169.254'), 80)).toBe(false);
    expect(connects(policies, runner, outside('192.168.1.1'), 443)).toBe(false);
    expect(connects(policies, runner, outside('172.31.0.5'), 443)).toBe(false);
    expect(connects(policies, runner, gate, 8080)).toBe(false);
  });
});
