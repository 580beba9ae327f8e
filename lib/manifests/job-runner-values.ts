import * as path from 'path';
import { AppConfig } from '../config';
import { JOB_RUNNER_SERVICE_ACCOUNT, JOB_RUNNER_TAG_PREFIX } from '../names';
import { TemplateValues } from './fill-template';
import { scalingManifestsLeftOut } from './scaling-manifests';
import { JobsStackValues, StackValues } from './stack-values';

/** The job runner's manifest, relative to the kustomize tree (manifests/). */
export const JOB_RUNNER_MANIFEST = path.join('base', 'job-runner.yaml');

/**
 * Port of the runner's /healthz and /scaling (HEALTH_PORT; comfyui_image/job_runner/settings.py defaults to it too).
 * KEDA's metrics-api trigger reads `demand` from GET /scaling on it (docs/scaling-design.md, section 3).
 */
export const JOB_RUNNER_HEALTH_PORT = 8080;
/** The path and JSON field of the runner's scaling signal (comfyui_image/job_runner/scaling.py). */
export const JOB_RUNNER_SCALING = { path: '/scaling', valueLocation: 'demand' } as const;

/** The `{{ name }}` values only job-runner.yaml uses. */
export function jobRunnerValues(stack: StackValues, jobs: JobsStackValues, config: AppConfig, imageTag: string): TemplateValues {
  return {
    ...jobs,
    jobRunnerImage: `${stack.ecrRepositoryUri}:${JOB_RUNNER_TAG_PREFIX}${imageTag}`,
    jobRunnerReplicas: config.jobRunnerReplicas,
    jobRunnerServiceAccount: JOB_RUNNER_SERVICE_ACCOUNT,
    jobRunnerHealthPort: JOB_RUNNER_HEALTH_PORT,
  };
}

/**
 * Source files the render replaces with a comment saying why: the job runner when config `jobs` is off (there is
 * no jobs stack, so no queue or table to give it), and the scaling objects when `autoscaling` is off
 * (scaling-manifests.ts). Kustomize accepts a resource file without documents, so the kustomization stays the same
 * either way.
 */
export function manifestsLeftOut(config: Pick<AppConfig, 'jobs' | 'autoscaling'>): Record<string, string> {
  const jobRunner = config.jobs ? {} : { [JOB_RUNNER_MANIFEST]: 'the job runner is off: config `jobs` is false' };
  return { ...jobRunner, ...scalingManifestsLeftOut(config) };
}
