/**
 * The few fields of Kubernetes objects that doctor reads, as `kubectl get -o json` returns them. Everything is
 * optional: the checks must cope with an object a controller has not filled in yet.
 */
export interface KubeCondition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
}

export interface KubeMetadata {
  readonly name: string;
  readonly namespace?: string;
  /** RFC 3339, set by the API server. */
  readonly creationTimestamp?: string;
  readonly labels?: Record<string, string>;
  readonly ownerReferences?: readonly { kind: string; name: string }[];
}

export interface KubeTaint {
  readonly key: string;
  readonly value?: string;
  readonly effect: string;
}

export interface KubeNode {
  readonly metadata: KubeMetadata;
  readonly spec?: { providerID?: string; taints?: readonly KubeTaint[]; unschedulable?: boolean };
  readonly status?: { conditions?: readonly KubeCondition[]; allocatable?: Record<string, string> };
}

export interface KubePod {
  readonly metadata: KubeMetadata;
  readonly spec?: { nodeName?: string };
  readonly status?: {
    phase?: string;
    conditions?: readonly KubeCondition[];
    containerStatuses?: readonly { name: string; ready: boolean; state?: { waiting?: { reason?: string; message?: string } } }[];
  };
}

export interface KubeDaemonSet {
  readonly metadata: KubeMetadata;
  readonly status?: { desiredNumberScheduled?: number; numberReady?: number; numberAvailable?: number };
}

export interface KubeDeployment {
  readonly metadata: KubeMetadata;
  readonly spec?: { replicas?: number };
  readonly status?: { readyReplicas?: number; availableReplicas?: number };
}

export interface KubeEvent {
  readonly involvedObject: { kind?: string; name?: string; namespace?: string };
  readonly reason?: string;
  readonly message?: string;
  readonly type?: string;
  readonly lastTimestamp?: string;
  readonly eventTime?: string;
}

/** Karpenter's EC2NodeClass (karpenter.k8s.aws/v1) and NodePool (karpenter.sh/v1): status is what matters. */
/** A KEDA ScaledObject (keda.sh/v1alpha1): KEDA sets its Ready and Active conditions. */
export interface KubeScaledObject {
  readonly metadata: KubeMetadata;
  readonly status?: { conditions?: readonly KubeCondition[] };
}

export interface KarpenterObject {
  readonly metadata: KubeMetadata;
  readonly status?: { conditions?: readonly KubeCondition[]; amis?: readonly { id: string; name?: string }[] };
}

/** The condition of `type` when it is True; undefined when absent or not True. */
export function conditionTrue(conditions: readonly KubeCondition[] | undefined, type: string): boolean {
  return conditions?.some((c) => c.type === type && c.status === 'True') ?? false;
}

/** The condition of `type`, if reported. */
export function findCondition(conditions: readonly KubeCondition[] | undefined, type: string): KubeCondition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** The conditions of a Karpenter object that are not True, with their messages: what keeps it from Ready. */
export function notReadyBecause(object: KarpenterObject): string {
  const bad = (object.status?.conditions ?? []).filter((c) => c.status !== 'True' && c.type !== 'Ready');
  if (bad.length === 0) return 'no Ready condition yet';
  return bad.map((c) => `${c.type}=${c.status}${c.message ? ` (${c.message})` : ''}`).join(', ');
}
