import { beforeAll, describe, expect, test } from 'vitest';
import { KARPENTER_INTERRUPTION_EVENTS } from '../../lib/constructs/karpenter-interruption-rules';
import { ORIGIN_TIMEOUT_SECONDS } from '../../lib/constructs/edge-distribution';
import { VPC_ORIGINS_SERVICE_SECURITY_GROUP } from '../../lib/constructs/vpc-origin-ingress';
import { ECR_REPOSITORY_NAME, OUTPUT_KEYS, STACK_NAMES } from '../../lib/names';
import { VPC_CNI_MANAGED_POLICY } from '../../lib/policies/node-role';
import { SynthesizedApp, synthApp } from '../helpers/synth-app';

/**
 * What a first `cdk deploy` on a real account needs and an offline synth alone would not show: each test reads
 * the synthesized templates for one contract of an AWS service (the first-deploy issue's defects 1-9).
 */
type Resource = { Type: string; Properties?: any; DependsOn?: string[] | string; DeletionPolicy?: string };
type Resources = Record<string, Resource>;

const resourcesOf = (app: SynthesizedApp, stack: string): Resources => app.templates[stack].toJSON().Resources ?? {};
const ofType = (resources: Resources, type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const dependsOn = (r: Resource): string[] => (r.DependsOn === undefined ? [] : ([] as string[]).concat(r.DependsOn));
const managedPolicyNames = (role: Resource): string[] =>
  (role.Properties!.ManagedPolicyArns ?? []).map((arn: unknown) => /policy\/(?:service-role\/)?([\w-]+)/.exec(JSON.stringify(arn))![1]);

let defaultApp: SynthesizedApp;

describe('a first deploy of the default app', () => {
  let app: SynthesizedApp;
  let cluster: Resources;
  beforeAll(async () => {
    app = await synthApp();
    defaultApp = app;
    cluster = resourcesOf(app, STACK_NAMES.cluster);
  });

  test('every node that runs aws-node can attach ENIs: through its node role or aws-node\'s own IRSA role', () => {
    const [[, addon]] = ofType(cluster, 'AWS::EKS::Addon').filter(([, r]) => r.Properties.AddonName === 'vpc-cni');
    const cniRoleId: string | undefined = addon.Properties.ServiceAccountRoleArn?.['Fn::GetAtt']?.[0];
    // The IRSA role: holds the CNI policy and is assumable only by kube-system/aws-node (its trust condition
    // is a CfnJson resource, so the service account name is looked for in the whole stack's JSON).
    const irsaGrantsEni = cniRoleId !== undefined && managedPolicyNames(cluster[cniRoleId]).includes(VPC_CNI_MANAGED_POLICY)
      && JSON.stringify(cluster).includes('system:serviceaccount:kube-system:aws-node');
    const nodeRoles = ofType(cluster, 'AWS::IAM::Role').filter(([, r]) =>
      JSON.stringify(r.Properties.AssumeRolePolicyDocument).includes('ec2.amazonaws.com'));
    // The system node group's role and the Karpenter GPU node role.
    expect(nodeRoles.length).toBeGreaterThanOrEqual(2);
    for (const [id, role] of nodeRoles) {
      expect(irsaGrantsEni || managedPolicyNames(role).includes(VPC_CNI_MANAGED_POLICY), id).toBe(true);
    }
    // The GPU node role relies on the IRSA role, so that role must exist.
    const gpuRoleId = app.templates[STACK_NAMES.cluster].toJSON().Outputs[OUTPUT_KEYS.karpenterNodeRoleName].Value.Ref;
    expect(nodeRoles.map(([id]) => id)).toContain(gpuRoleId);
    expect(managedPolicyNames(cluster[gpuRoleId])).not.toContain(VPC_CNI_MANAGED_POLICY);
    expect(irsaGrantsEni).toBe(true);
  });

  test('every Karpenter interruption rule matches an event Karpenter parses, and the four it needs are there', () => {
    const queues = ofType(cluster, 'AWS::SQS::Queue').filter(([, q]) => q.Properties.QueueName === STACK_NAMES.cluster);
    expect(queues).toHaveLength(1);
    const queueId = queues[0][0];
    const rules = ofType(cluster, 'AWS::Events::Rule').filter(([, r]) => JSON.stringify(r.Properties.Targets).includes(queueId));
    const known = Object.values(KARPENTER_INTERRUPTION_EVENTS).map((e) => JSON.stringify({ source: [e.source], 'detail-type': [e.detailType] }));
    for (const [id, rule] of rules) expect(known, id).toContain(JSON.stringify(rule.Properties.EventPattern));
    const matched = rules.map(([, r]) => r.Properties.EventPattern['detail-type'][0]);
    for (const kind of ['scheduledChange', 'spotInterruption', 'rebalanceRecommendation', 'stateChange'] as const) {
      expect(matched).toContain(KARPENTER_INTERRUPTION_EVENTS[kind].detailType);
    }
  });

  test('every Helm chart installs after the system node group, so charts that wait for pods find a node', () => {
    const nodeGroups = ofType(cluster, 'AWS::EKS::Nodegroup').map(([id]) => id);
    expect(nodeGroups).toHaveLength(1);
    const charts = ofType(cluster, 'Custom::AWSCDK-EKS-HelmChart');
    expect(charts.map(([, c]) => c.Properties.Chart)).toEqual(expect.arrayContaining(['aws-mountpoint-s3-csi-driver', 'karpenter']));
    for (const [id, chart] of charts) expect(dependsOn(chart), id).toContain(nodeGroups[0]);
  });

  test('GPU nodes may decrypt the node-sync bundle through S3 only, for a customer-key CDK asset bucket', () => {
    const statements = ofType(cluster, 'AWS::IAM::Policy').flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
    const read = statements.find((s) => s.Sid === 'ReadNodeSyncBundle');
    const decrypt = statements.find((s) => s.Sid === 'DecryptNodeSyncBundleThroughS3');
    expect(decrypt).toMatchObject({ Effect: 'Allow', Action: 'kms:Decrypt' });
    expect(decrypt.Condition.StringEquals['kms:ViaService']).toBe('s3.us-west-2.amazonaws.com');
    // The encryption context S3 sets is the object's ARN: exactly the one object the role may read.
    expect(decrypt.Condition.StringEquals['kms:EncryptionContext:aws:s3:arn']).toContainEqual(read.Resource);
  });

  test("CloudFront's VPC-origin service group is looked up after the VPC origin and the distribution exist, in the ALB's VPC", () => {
    const edge = resourcesOf(app, STACK_NAMES.cloudFrontEntry);
    const [[originId]] = ofType(edge, 'AWS::CloudFront::VpcOrigin');
    const [[distributionId]] = ofType(edge, 'AWS::CloudFront::Distribution');
    const [[, lookup]] = ofType(edge, 'Custom::AWS');
    const create = JSON.stringify(lookup.Properties.Create);
    expect(create).toContain('describeSecurityGroups');
    expect(create).toContain(VPC_ORIGINS_SERVICE_SECURITY_GROUP);
    expect(create).toMatch(/vpc-id.*ExportsOutputRefVpc/);
    expect(dependsOn(lookup)).toEqual(expect.arrayContaining([originId, distributionId]));
  });

  test('the origin waits as long as CloudFront allows without a quota increase, and keeps connections below the ALB idle timeout', () => {
    const [[, distribution]] = ofType(resourcesOf(app, STACK_NAMES.cloudFrontEntry), 'AWS::CloudFront::Distribution');
    const [origin] = distribution.Properties.DistributionConfig.Origins;
    expect(origin.VpcOriginConfig).toMatchObject({ OriginReadTimeout: ORIGIN_TIMEOUT_SECONDS, OriginKeepaliveTimeout: ORIGIN_TIMEOUT_SECONDS });
    expect(ORIGIN_TIMEOUT_SECONDS).toBeLessThanOrEqual(120);
    const [[, alb]] = ofType(cluster, 'AWS::ElasticLoadBalancingV2::LoadBalancer');
    const idle = alb.Properties.LoadBalancerAttributes.find((a: any) => a.Key === 'idle_timeout.timeout_seconds');
    expect(Number(idle.Value)).toBeGreaterThan(ORIGIN_TIMEOUT_SECONDS);
  });

  test('after cdk destroy, only the three buckets and the ECR repository survive under fixed names (what adoptRetainedData adopts)', () => {
    const survivors: string[] = [];
    for (const stack of Object.keys(app.templates)) {
      for (const r of Object.values(resourcesOf(app, stack))) {
        if (r.DeletionPolicy === undefined || r.DeletionPolicy === 'Delete') continue;
        // A retained resource CloudFormation named itself cannot collide with the next deploy's; a name given as a
        // string or built with Fn::Join / Fn::Sub (from the account, region...) can.
        const fixedName = Object.entries(r.Properties ?? {}).find(([key, value]) =>
          /Name$/.test(key) && (typeof value === 'string' || (typeof value === 'object' && value !== null && ('Fn::Join' in value || 'Fn::Sub' in value))));
        if (fixedName) survivors.push(`${r.Type} ${JSON.stringify(fixedName[1]).replace(/^"|"$/g, '')}`);
      }
    }
    expect(survivors.sort()).toEqual([
      `AWS::ECR::Repository ${ECR_REPOSITORY_NAME}`,
      'AWS::S3::Bucket comfyui-models-123456789012-us-west-2',
      'AWS::S3::Bucket comfyui-outputs-123456789012-us-west-2',
      'AWS::S3::Bucket comfyui-templates-123456789012-us-west-2',
    ]);
  });

  test('the access-log buckets of the models and outputs buckets keep the policy that lets S3 deliver logs', () => {
    for (const stack of [STACK_NAMES.modelsSync, STACK_NAMES.outputsStorage]) {
      const resources = resourcesOf(app, stack);
      const logTargets = ofType(resources, 'AWS::S3::Bucket')
        .map(([, b]) => b.Properties?.LoggingConfiguration?.DestinationBucketName?.Ref).filter(Boolean);
      expect(logTargets, stack).toHaveLength(1);
      const [[, policy]] = ofType(resources, 'AWS::S3::BucketPolicy').filter(([, p]) => p.Properties.Bucket?.Ref === logTargets[0]);
      expect(JSON.stringify(policy.Properties.PolicyDocument)).toContain('logging.s3.amazonaws.com');
      // Deleted with the stack, it would leave a retained (and later adopted) bucket logging into a bucket that refuses.
      expect(policy.DeletionPolicy, stack).toBe('Retain');
    }
  });
});

describe('a redeploy over retained data (adoptRetainedData=true)', () => {
  let app: SynthesizedApp;
  beforeAll(async () => {
    app = await synthApp({ adoptRetainedData: 'true' });
  });

  test('creates no bucket or repository under a retained name, and passes cdk-nag', () => {
    const json = JSON.stringify(Object.values(app.templates).map((t) => t.toJSON()));
    for (const stack of Object.keys(app.templates)) {
      const resources = resourcesOf(app, stack);
      const named = ofType(resources, 'AWS::S3::Bucket').filter(([, b]) => typeof b.Properties?.BucketName === 'string');
      expect(named, stack).toEqual([]);
      expect(ofType(resources, 'AWS::ECR::Repository'), stack).toEqual([]);
      // CloudFormation refuses a template without resources.
      expect(Object.keys(resources).length, stack).toBeGreaterThan(0);
    }
    expect(json).toContain('comfyui-models-123456789012-us-west-2');
    expect(app.nagViolations).toEqual([]);
  });

  test('puts the same TLS policy back on each adopted bucket, under the same logical id, and model sync still hears the models bucket', () => {
    for (const [stack, bucket] of [
      [STACK_NAMES.modelsSync, 'comfyui-models-123456789012-us-west-2'],
      [STACK_NAMES.outputsStorage, 'comfyui-outputs-123456789012-us-west-2'],
      [STACK_NAMES.jobs, 'comfyui-templates-123456789012-us-west-2'],
    ]) {
      const policies = ofType(resourcesOf(app, stack), 'AWS::S3::BucketPolicy').filter(([, p]) => p.Properties.Bucket === bucket);
      expect(policies, stack).toHaveLength(1);
      const [adoptedId, adopted] = policies[0];
      // The policy of the bucket the default app creates: same statements, same logical id (updated in place).
      const created = resourcesOf(defaultApp, stack)[adoptedId];
      expect(created?.Type, `${stack} ${adoptedId}`).toBe('AWS::S3::BucketPolicy');
      const conditions = (doc: any) => doc.Statement.filter((s: any) => s.Effect === 'Deny').map((s: any) => s.Condition);
      expect(conditions(adopted.Properties.PolicyDocument)).toEqual(conditions(created!.Properties.PolicyDocument));
      expect(conditions(adopted.Properties.PolicyDocument)).toEqual([
        { Bool: { 'aws:SecureTransport': 'false' } },
        { NumericLessThan: { 's3:TlsVersion': 1.2 } },
      ]);
    }
    const notifications = ofType(resourcesOf(app, STACK_NAMES.modelsSync), 'Custom::S3BucketNotifications');
    expect(notifications).toHaveLength(1);
    expect(notifications[0][1].Properties.BucketName).toBe('comfyui-models-123456789012-us-west-2');
  });

  test('still outputs the names and URI later steps read', () => {
    const outputs = (stack: string) => app.templates[stack].toJSON().Outputs;
    expect(JSON.stringify(outputs(STACK_NAMES.ecrRepo))).toContain(`/${ECR_REPOSITORY_NAME}`);
    expect(JSON.stringify(outputs(STACK_NAMES.modelsSync))).toContain('comfyui-models-123456789012-us-west-2');
    expect(JSON.stringify(outputs(STACK_NAMES.outputsStorage))).toContain('comfyui-outputs-123456789012-us-west-2');
  });
});
