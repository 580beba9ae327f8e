import * as path from 'path';
import { AppConfig } from '../config';

/**
 * The manifests that exist only with config `autoscaling`, relative to the kustomize tree (manifests/): KEDA's
 * ScaledObject with its TriggerAuthentication, the runner Service and NetworkPolicy KEDA reads GET /scaling
 * through, and the multi-GPU overlay's patch of the ScaledObject's targets (kustomize takes a patch file without
 * operations). Their values come from scaling-values.ts.
 */
export const SCALING_MANIFESTS = [
  path.join('base', 'comfyui-scaledobject.yaml'),
  path.join('base', 'job-runner-service.yaml'),
  path.join('multi-gpu', 'scaledobject-patch.yaml'),
] as const;

/** Source files the render replaces with a comment saying why: the scaling objects when autoscaling is off. */
export function scalingManifestsLeftOut(config: Pick<AppConfig, 'autoscaling'>): Record<string, string> {
  if (config.autoscaling) return {};
  return Object.fromEntries(SCALING_MANIFESTS.map((file) => [file, 'autoscaling is off: config `autoscaling` is false']));
}
