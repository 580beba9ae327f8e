import { COMFYUI_NAMESPACE } from '../../names';
import { CheckVerdict, warned } from './check-verdict';

/** The next steps several checks share, spelled once. */
export const KARPENTER_LOGS = 'kubectl -n kube-system logs deploy/karpenter';
export const MODEL_SYNC_LOGS = `comfyctl models status; kubectl -n ${COMFYUI_NAMESPACE} logs ds/model-gate`;

/** Step 4 of the README's deploy path: render the manifests from the outputs and apply an overlay. */
export function applyOverlay(outputsFile: string): string {
  return `npm run render -- --outputs ${outputsFile}, then kubectl apply -k build/manifests/single-gpu (or multi-gpu)`;
}

/** A check that could not read the cluster: the kube-access check says why, so this one only WARNs. */
export function notCheckedWithoutCluster(name: string, error: string): CheckVerdict {
  return warned(name, `not checked: ${error}`, 'fix kube-access first');
}
