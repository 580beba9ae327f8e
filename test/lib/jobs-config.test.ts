import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig } from '../../lib/config';

const load = (values: Record<string, unknown>) => loadConfig((key) => values[key]);
/** The other edge and ALB keys a config without CloudFront needs, so only the jobs rule can fail. */
const withoutCloudFront = { cloudFront: 'false', albExposure: 'vpc' };

describe('jobs config keys', () => {
  test('default to jobs on, no admins, 30 days of job records and one runner', () => {
    expect(load({})).toMatchObject({ jobs: true, jobsAdmins: [], jobsRetentionDays: 30, jobRunnerReplicas: 1 });
  });

  test('parse -c strings and cdk.json values alike', () => {
    expect(load({ jobsAdmins: 'ana, bo_2', jobsRetentionDays: '7', jobRunnerReplicas: '2' })).toMatchObject({
      jobsAdmins: ['ana', 'bo_2'],
      jobsRetentionDays: 7,
      jobRunnerReplicas: 2,
    });
    expect(load({ comfyui: { jobsAdmins: ['ana'], jobs: true } }).jobsAdmins).toEqual(['ana']);
    expect(load({ ...withoutCloudFront, jobs: 'false' }).jobs).toBe(false);
  });

  test.each([
    [{ jobs: 'yes' }, "Invalid config 'jobs': expected true or false"],
    [{ jobsAdmins: 'Ana' }, "Invalid config 'jobsAdmins': 'Ana' is not an edge user name"],
    [{ jobsAdmins: 'a:b' }, "Invalid config 'jobsAdmins': 'a:b' is not an edge user name"],
    [{ jobsRetentionDays: '0' }, "Invalid config 'jobsRetentionDays': expected an integer from 1 to 3650"],
    [{ jobsRetentionDays: '1.5' }, "Invalid config 'jobsRetentionDays'"],
    [{ jobRunnerReplicas: '4' }, "Invalid config 'jobRunnerReplicas': expected an integer from 0 to 3"],
    [{ jobRunnerReplicas: '-1' }, "Invalid config 'jobRunnerReplicas'"],
  ])('%j fails naming the key', (values, message) => {
    expect(() => load(values)).toThrow(ConfigError);
    expect(() => load(values)).toThrow(message);
  });

  test('jobs needs CloudFront: the error names jobs and cloudFront and says how to fix it', () => {
    expect(() => load(withoutCloudFront)).toThrow(/^Invalid config 'jobs': needs cloudFront=true and edgeAuth=true.*cloudFront is false; set jobs=false/);
  });

  test('jobs needs edge authentication: the error names jobs and edgeAuth', () => {
    expect(() => load({ edgeAuth: 'false', edgeAuthOffAcknowledged: 'true' })).toThrow(
      /^Invalid config 'jobs': .*edgeAuth is false; set jobs=false, or turn edgeAuth on/,
    );
    expect(() => load({ ...withoutCloudFront, edgeAuth: 'false' })).toThrow(/cloudFront and edgeAuth are false/);
  });

  test('jobsAdmins without jobs is a mistake, named', () => {
    expect(() => load({ ...withoutCloudFront, jobs: 'false', jobsAdmins: 'ana' })).toThrow(
      "Invalid config 'jobsAdmins': is only used when jobs is true (jobs is false)",
    );
  });

  test('are known keys of the cdk.json comfyui object, and a typo is not', () => {
    expect(() => load({ comfyui: { jobs: true, jobsAdmins: [], jobsRetentionDays: 30, jobRunnerReplicas: 1 } })).not.toThrow();
    expect(() => load({ comfyui: { jobAdmins: ['ana'] } })).toThrow("Invalid config 'jobAdmins': unknown key");
  });
});
