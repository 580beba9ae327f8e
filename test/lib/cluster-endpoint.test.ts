import { describe, expect, test } from 'vitest';
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { Construct } from 'constructs';
import { clusterEndpointAccess, warnAboutClusterEndpoint } from '../../lib/constructs/cluster-endpoint';

function warningsFor(publicCidrs: string[]) {
  const stack = new Stack(new App(), 'Test');
  warnAboutClusterEndpoint(new Construct(stack, 'Cluster'), publicCidrs);
  return Annotations.fromStack(stack).findWarning('*', Match.anyValue()).map((w) => String(w.entry.data));
}

describe('the cluster endpoint setting', () => {
  test('no public CIDRs means a private endpoint only', () => {
    expect(clusterEndpointAccess([])._config).toEqual({ privateAccess: true, publicAccess: false });
  });

  test('public CIDRs open the public endpoint to exactly them and keep the private one', () => {
    expect(clusterEndpointAccess(['203.0.113.7/32'])._config).toEqual({ privateAccess: true, publicAccess: true, publicCidrs: ['203.0.113.7/32'] });
  });

  test('synth warns for a private endpoint (kubectl from the VPC only) and for 0.0.0.0/0, and is quiet for listed networks', () => {
    expect(warningsFor([])).toEqual([expect.stringContaining('kubectl works only from inside the VPC')]);
    expect(warningsFor(['0.0.0.0/0'])).toEqual([expect.stringContaining('anyone on the internet can reach the Kubernetes API endpoint')]);
    expect(warningsFor(['203.0.113.7/32', '198.51.100.0/24'])).toEqual([]);
  });
});
