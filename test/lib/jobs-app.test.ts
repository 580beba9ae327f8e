import { describe, expect, test } from 'vitest';
import { JOBS_API_PATH_PATTERN } from '../../lib/jobs/contract';
import { STACK_NAMES } from '../../lib/names';
import { synthApp } from '../helpers/synth-app';

/** The jobs stack inside the whole app, as `cdk deploy --all` gets it. */
const pathPatterns = (app: Awaited<ReturnType<typeof synthApp>>): string[] => {
  const [distribution] = Object.values(app.templates[STACK_NAMES.cloudFrontEntry].findResources('AWS::CloudFront::Distribution')) as any[];
  return distribution.Properties.DistributionConfig.CacheBehaviors.map((b: any) => b.PathPattern);
};

describe('the app with jobs on (the default)', () => {
  test('deploys the jobs stack after the cluster and the outputs bucket, CloudFront after it, with no cdk-nag finding left', async () => {
    const app = await synthApp();
    const dependencies = (stack: { dependencies: { stackName: string }[] }) => stack.dependencies.map((s) => s.stackName);
    expect(dependencies(app.stacks.jobs!)).toEqual(expect.arrayContaining([STACK_NAMES.cluster, STACK_NAMES.outputsStorage]));
    expect(dependencies(app.stacks.cloudFrontEntry!)).toContain(STACK_NAMES.jobs);
    expect(pathPatterns(app)).toContain(JOBS_API_PATH_PATTERN);
    expect(app.nagViolations).toEqual([]);
  });
});

describe('jobs=false', () => {
  test('drops the jobs stack and the jobs behaviour, and still passes cdk-nag', async () => {
    const app = await synthApp({ jobs: 'false' });
    expect(Object.keys(app.templates)).not.toContain(STACK_NAMES.jobs);
    expect(app.stacks.jobs).toBeUndefined();
    expect(pathPatterns(app)).not.toContain(JOBS_API_PATH_PATTERN);
    expect(app.nagViolations).toEqual([]);
  });
});
