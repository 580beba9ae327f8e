import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as eks from 'aws-cdk-lib/aws-eks';
import { beforeAll, describe, expect, test } from 'vitest';
import { PodOutputsAccess } from '../../lib/constructs/pod-outputs-access';
import { COMFYUI_NAMESPACE, COMFYUI_SERVICE_ACCOUNT, OUTPUTS_KEY_PREFIX } from '../../lib/names';
import { podOutputsStatements, POD_NAME_VARIABLE } from '../../lib/policies/pod-outputs';

const BUCKET = 'studio-comfyui-outputs';
const BUCKET_ARN = `arn:aws:s3:::${BUCKET}`;

type Statement = { Sid?: string; Effect: string; Action: string | string[]; Resource: unknown; Condition?: Record<string, Record<string, string>> };
const asList = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

/** The role's inline statements with `arn:${Partition}` resolved to `arn:aws`, as IAM would see them. */
function roleStatements(template: Template): Statement[] {
  const [role] = Object.values(template.findResources('AWS::IAM::Role')) as any[];
  const text = JSON.stringify(role.Properties.Policies.flatMap((p: any) => p.PolicyDocument.Statement));
  const joined = text.replace(/\{"Fn::Join":\["",\["arn:",\{"Ref":"AWS::Partition"\},"([^"]*)"\]\]\}/g, '"arn:aws$1"');
  return JSON.parse(joined);
}

/**
 * A small model of IAM's evaluation for the statements above (Allow only, as here): actions and resources by
 * glob, the `${aws:PrincipalTag/...}` variable replaced by the session's tag, and the condition operators the
 * policy uses. Not AWS's evaluator: it shows what the statements say, case by case.
 */
interface Request {
  action: string;
  resource: string;
  podName?: string;
  context?: Record<string, string>;
}
const glob = (pattern: string, value: string) =>
  new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`).test(value);

function allowed(statements: Statement[], request: Request): boolean {
  const tags: Record<string, string> = request.podName === undefined ? {} : { 'aws:PrincipalTag/kubernetes-pod-name': request.podName };
  const context: Record<string, string> = { ...tags, ...request.context };
  const resolve = (text: string): string | undefined =>
    text.includes(POD_NAME_VARIABLE) ? (request.podName === undefined ? undefined : text.split(POD_NAME_VARIABLE).join(request.podName)) : text;
  const conditionHolds = (operator: string, key: string, expected: string): boolean => {
    const actual = context[key];
    const want = resolve(expected);
    switch (operator) {
      case 'Null':
        return (actual === undefined) === (expected === 'true');
      case 'StringEquals':
        return actual !== undefined && actual === want;
      case 'StringLike':
        return actual !== undefined && want !== undefined && glob(want, actual);
      case 'NumericEquals':
        return actual !== undefined && Number(actual) === Number(expected);
      default:
        throw new Error(`the model knows no ${operator}`);
    }
  };
  return statements.some(
    (s) =>
      s.Effect === 'Allow' &&
      asList(s.Action).some((a) => glob(a, request.action)) &&
      asList(s.Resource as string).some((r) => {
        const pattern = resolve(r);
        return pattern !== undefined && glob(pattern, request.resource);
      }) &&
      Object.entries(s.Condition ?? {}).every(([op, keys]) => Object.entries(keys).every(([k, v]) => conditionHolds(op, k, v))),
  );
}

const object = (key: string) => `${BUCKET_ARN}/${key}`;
const list = (prefix: string, maxKeys = '1') => ({ 's3:prefix': prefix, 's3:max-keys': maxKeys });

describe('PodOutputsAccess in a bare stack', () => {
  let template: Template;
  let statements: Statement[];
  beforeAll(() => {
    const stack = new Stack(new App(), 'Test', { env: { account: '123456789012', region: 'us-west-2' } });
    const cluster = eks.Cluster.fromClusterAttributes(stack, 'Cluster', { clusterName: 'studio' });
    new PodOutputsAccess(stack, 'PodOutputsAccess', { cluster, bucketName: BUCKET });
    template = Template.fromStack(stack);
    statements = roleStatements(template);
  });

  test('the role can write, replace and abort uploads only below the calling pod\'s own folder', () => {
    const writes = statements.filter((s) => asList(s.Action).some((a) => /^s3:(Put|Abort)/.test(a)));
    expect(writes.length).toBeGreaterThan(0);
    for (const s of writes) {
      expect(asList(s.Resource as string)).toEqual([object(`${OUTPUTS_KEY_PREFIX}${POD_NAME_VARIABLE}/*`)]);
      expect(s.Condition?.Null).toEqual({ 'aws:PrincipalTag/kubernetes-pod-name': 'false' });
    }
  });

  test('the role has no delete and no wildcard action, and reads nothing outside the pod\'s folder', () => {
    const actions = statements.flatMap((s) => asList(s.Action));
    expect(actions.filter((a) => /Delete|\*/.test(a))).toEqual([]);
    expect([...new Set(actions)].sort()).toEqual(['s3:AbortMultipartUpload', 's3:GetObject', 's3:ListBucket', 's3:PutObject']);
    for (const s of statements.filter((st) => asList(st.Action).includes('s3:GetObject'))) {
      for (const r of asList(s.Resource as string)) expect(r.startsWith(object(`${OUTPUTS_KEY_PREFIX}${POD_NAME_VARIABLE}`))).toBe(true);
    }
  });

  test('one ListBucket statement, on the outputs bucket, for tagged pod sessions only (HeadObject answers 404 only with it)', () => {
    const lists = statements.filter((s) => asList(s.Action).includes('s3:ListBucket'));
    expect(lists.map((s) => [s.Resource, s.Condition])).toEqual([[BUCKET_ARN, { Null: { 'aws:PrincipalTag/kubernetes-pod-name': 'false' } }]]);
  });

  describe('what one pod may do, per the statements', () => {
    const a = 'comfyui-7d9f8c6b5-abcde';
    const b = 'comfyui-7d9f8c6b5-fghij';
    const own = (name: string) => `${OUTPUTS_KEY_PREFIX}${a}/${name}`;

    test('a pod ships, replaces and looks up its own outputs, the way Mountpoint calls S3', () => {
      expect(allowed(statements, { action: 's3:ListBucket', resource: BUCKET_ARN, podName: a, context: list(OUTPUTS_KEY_PREFIX, '0') })).toBe(true);
      expect(allowed(statements, { action: 's3:GetObject', resource: object(`${OUTPUTS_KEY_PREFIX}${a}`), podName: a })).toBe(true);
      expect(allowed(statements, { action: 's3:ListBucket', resource: BUCKET_ARN, podName: a, context: list(`${OUTPUTS_KEY_PREFIX}${a}/`) })).toBe(true);
      expect(allowed(statements, { action: 's3:ListBucket', resource: BUCKET_ARN, podName: a, context: list(`${own('video.mp4')}/`) })).toBe(true);
      expect(allowed(statements, { action: 's3:GetObject', resource: object(own('video.mp4')), podName: a })).toBe(true);
      expect(allowed(statements, { action: 's3:PutObject', resource: object(own('video.mp4')), podName: a })).toBe(true);
      expect(allowed(statements, { action: 's3:PutObject', resource: object(own('sub/ComfyUI_00001_.png')), podName: a })).toBe(true);
      expect(allowed(statements, { action: 's3:AbortMultipartUpload', resource: object(own('video.mp4')), podName: a })).toBe(true);
    });

    test("a compromised pod cannot overwrite or read another pod's outputs (only list their names), nor delete its own", () => {
      const theirs = object(`${OUTPUTS_KEY_PREFIX}${b}/ComfyUI_00001_.png`);
      expect(allowed(statements, { action: 's3:PutObject', resource: theirs, podName: a })).toBe(false);
      expect(allowed(statements, { action: 's3:AbortMultipartUpload', resource: theirs, podName: a })).toBe(false);
      expect(allowed(statements, { action: 's3:GetObject', resource: theirs, podName: a })).toBe(false);
      // Key names are listable (ListOutputNames), the objects behind them are not.
      expect(allowed(statements, { action: 's3:ListBucket', resource: BUCKET_ARN, podName: a, context: list(`${OUTPUTS_KEY_PREFIX}${b}/`) })).toBe(true);
      expect(allowed(statements, { action: 's3:DeleteObject', resource: object(own('video.mp4')), podName: a })).toBe(false);
    });

    test('writes to a name that only starts like the pod\'s own, the prefix root or other prefixes, and other buckets, are refused', () => {
      expect(allowed(statements, { action: 's3:PutObject', resource: object(`${OUTPUTS_KEY_PREFIX}${a}x/f.png`), podName: a })).toBe(false);
      expect(allowed(statements, { action: 's3:PutObject', resource: object(`${OUTPUTS_KEY_PREFIX}${a}`), podName: a })).toBe(false);
      expect(allowed(statements, { action: 's3:PutObject', resource: object(`${a}/f.png`), podName: a })).toBe(false);
      expect(allowed(statements, { action: 's3:PutObject', resource: `arn:aws:s3:::other-bucket/${own('f.png')}`, podName: a })).toBe(false);
      expect(allowed(statements, { action: 's3:ListBucket', resource: 'arn:aws:s3:::other-bucket', podName: a, context: {} })).toBe(false);
    });

    test('a session without the pod-name tag may do nothing', () => {
      expect(allowed(statements, { action: 's3:PutObject', resource: object(own('f.png')) })).toBe(false);
      expect(allowed(statements, { action: 's3:ListBucket', resource: BUCKET_ARN, context: list(`${OUTPUTS_KEY_PREFIX}${a}/`) })).toBe(false);
    });
  });

  test('only EKS Pod Identity may assume the role, for the ComfyUI service account of this cluster, with session tags', () => {
    const [role] = Object.values(template.findResources('AWS::IAM::Role')) as any[];
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Principal: { Service: 'pods.eks.amazonaws.com' },
        Action: ['sts:AssumeRole', 'sts:TagSession'],
        Condition: {
          StringEquals: {
            'aws:RequestTag/eks-cluster-name': 'studio',
            'aws:RequestTag/kubernetes-namespace': COMFYUI_NAMESPACE,
            'aws:RequestTag/kubernetes-service-account': COMFYUI_SERVICE_ACCOUNT,
          },
        },
      },
    ]);
  });

  test('the Pod Identity association binds the role to the ComfyUI service account with session tags on', () => {
    template.hasResourceProperties('AWS::EKS::PodIdentityAssociation', {
      ClusterName: 'studio',
      Namespace: COMFYUI_NAMESPACE,
      ServiceAccount: COMFYUI_SERVICE_ACCOUNT,
      DisableSessionTags: false,
    });
  });
});

test('a key prefix that is not a folder is refused with the value it got', () => {
  expect(() => podOutputsStatements({ bucketArn: BUCKET_ARN, keyPrefix: 'comfyui' })).toThrow(
    "outputs key prefix must be a folder such as 'comfyui/', got 'comfyui'",
  );
});
