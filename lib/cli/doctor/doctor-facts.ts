import { SourceAnswer } from '../models/sync-report-sources';
import { NodeSyncStatus } from '../models/sync-report';
import { KarpenterObject, KubeDaemonSet, KubeDeployment, KubeEvent, KubeNode, KubePod, KubeScaledObject } from './kube-objects';

/** `cdk-outputs.json` as `cdk deploy --outputs-file` writes it: stack name -> output name -> value. */
export type OutputsDocument = Record<string, Record<string, unknown>>;

/** What `kubectl get -o json` answered for each kind doctor reads; each may fail on its own (a CRD not installed). */
export interface ClusterFacts {
  readonly nodes: SourceAnswer<readonly KubeNode[]>;
  readonly daemonSets: SourceAnswer<readonly KubeDaemonSet[]>;
  readonly deployments: SourceAnswer<readonly KubeDeployment[]>;
  /** Pods of the ComfyUI namespace. */
  readonly pods: SourceAnswer<readonly KubePod[]>;
  /** Events of the ComfyUI namespace (FailedScheduling, FailedMount, ...). */
  readonly events: SourceAnswer<readonly KubeEvent[]>;
  readonly nodeClasses: SourceAnswer<readonly KarpenterObject[]>;
  readonly nodePools: SourceAnswer<readonly KarpenterObject[]>;
  /** KEDA ScaledObjects of the ComfyUI namespace (an error when KEDA's CRDs are not installed). */
  readonly scaledObjects: SourceAnswer<readonly KubeScaledObject[]>;
}

/** `kubectl auth can-i '*' '*'`: yes, no, or why kubectl could not ask; and the context it asked through. */
export interface KubeAccess {
  readonly admin: boolean;
  readonly answer: string;
  /** The kubeconfig context used (`--context`, else the current one); `aws eks update-kubeconfig` names it by the cluster ARN. */
  readonly context?: string;
}

/** One target of the ALB target group (ELBv2 DescribeTargetHealth). */
export interface TargetHealthFact {
  readonly id: string;
  readonly port?: number;
  readonly state: string;
  readonly reason?: string;
  readonly description?: string;
}

/** What the edge answered to an authenticated GET and to a WebSocket upgrade. */
export interface EdgeFacts {
  readonly url: string;
  readonly tokenGiven: boolean;
  readonly request: SourceAnswer<{ readonly status: number }>;
  /** `opened`, or the HTTP status the upgrade was refused with (0: no HTTP answer; `reason` says why). */
  readonly webSocket: SourceAnswer<{ readonly opened: boolean; readonly status?: number; readonly reason?: string }>;
}

/** The outputs bucket probe: a put+delete under doctor/, or HeadBucket when the caller may not write. */
export interface OutputsWriteFact {
  readonly bucket: string;
  readonly mode: 'put-delete' | 'head-bucket';
  /** Why the write was refused, when mode is head-bucket. */
  readonly writeRefused?: string;
}

/** Everything doctor gathered; the checks are pure functions of it. */
export interface DoctorFacts {
  readonly now: Date;
  readonly outputsFile: string;
  readonly outputs: SourceAnswer<OutputsDocument>;
  /** CloudFormation StackStatus by stack name; absent: the stack does not exist. */
  readonly stacks: SourceAnswer<Readonly<Record<string, string>>>;
  readonly kubeAccess: SourceAnswer<KubeAccess>;
  readonly cluster: ClusterFacts;
  /** The newest sync per node (SSM and the log group), as `comfyctl models status` reads it. */
  readonly syncStatuses: SourceAnswer<readonly NodeSyncStatus[]>;
  /** When one of the two sync sources (SSM, the log group) failed and the other answered: why. */
  readonly syncSourceUnread?: string;
  /** How far back syncStatuses looked. */
  readonly syncSince: Date;
  readonly targetHealth: SourceAnswer<readonly TargetHealthFact[]>;
  readonly edge: SourceAnswer<EdgeFacts>;
  readonly outputsWrite: SourceAnswer<OutputsWriteFact>;
  /** The model-sync queue's dead-letter queue, found through the queue's redrive policy. */
  readonly deadLetters: SourceAnswer<{ readonly queueUrl: string; readonly messages: number }>;
  /** The jobs queue's dead-letter queue, found the same way; absent when the outputs file has no jobs queue (jobs off). */
  readonly jobsDeadLetters?: SourceAnswer<{ readonly queueUrl: string; readonly messages: number }>;
  /** CloudFormation StackStatus of the us-east-1 stacks (CloudFront's alarm, the web ACL); absent: not there. */
  readonly edgeStacks: SourceAnswer<Readonly<Record<string, string>>>;
}
