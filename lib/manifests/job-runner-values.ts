import * as path from 'path';
import { AppConfig } from '../config';
import { JOB_RUNNER_SERVICE_ACCOUNT, JOB_RUNNER_TAG_PREFIX } from '../names';
import { TemplateValues } from './fill-template';
import { JobsStackValues, StackValues } from './stack-values';

/** The job runner's manifest, relative to the kustomize tree (manifests/). */
export const JOB_RUNNER_MANIFEST = path.join('base', 'job-runner.yaml');

/** Port of the runner's /healthz (HEALTH_PORT; comfyui_image/job_runner/settings.py defaults to it too). */
export const JOB_RUNNER_HEALTH_PORT = 8080;

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
 * no jobs stack, so no queue or table to give it). Kustomize accepts a resource file without documents, so the
 * kustomization stays the same either way.
 */
export function manifestsLeftOut(config: Pick<AppConfig, 'jobs'>): Record<string, string> {
  return config.jobs ? {} : { [JOB_RUNNER_MANIFEST]: 'the job runner is off: config `jobs` is false' };
}
