import { execFileSync } from 'node:child_process';
import { beforeAll, describe, expect, test } from 'vitest';
import { CfnElement } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as eks from 'aws-cdk-lib/aws-eks';
import { albSubnetsCidr, cidrContains } from '../../lib/alb-subnets';
import { loadConfig } from '../../lib/config';
import { exampleStackValues, STACK_VALUE_SOURCES } from '../../lib/manifests/stack-values';
import { KUBERNETES_SERVICE_CIDR, OUTPUT_KEYS, OUTPUTS_KEY_PREFIX, STACK_NAMES } from '../../lib/names';
import { GPU_NODE_MANAGED_POLICIES } from '../../lib/policies/node-role';
import { albIngress } from '../helpers/alb-ingress';
import { SynthesizedApp, synthApp } from '../helpers/synth-app';

/** Managed CloudFront policy ids: https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-cache-policies.html */
const CACHING_DISABLED = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad';
/** With autoscaling (the default) the ALB behaviours may fail over to the wake page's Lambda URL: no viewer Host. */
const ALL_VIEWER_EXCEPT_HOST_HEADER = 'b689b0a8-53d0-40ab-baf2-68738e2966ac';

type Resource = { Type: string; Properties?: Record<string, any>; DependsOn?: unknown };

function resources(app: SynthesizedApp, stackName: string, type: string): Resource[] {
  return Object.values(app.templates[stackName].findResources(type)) as Resource[];
}

/** Every IAM statement of a stack's inline and managed policies, with the role or policy it sits in. */
function statements(app: SynthesizedApp, stackName: string): any[] {
  const docs: any[] = [];
  for (const r of resources(app, stackName, 'AWS::IAM::Policy')) docs.push(r.Properties!.PolicyDocument);
  for (const r of resources(app, stackName, 'AWS::IAM::ManagedPolicy')) docs.push(r.Properties!.PolicyDocument);
  for (const r of resources(app, stackName, 'AWS::IAM::Role')) {
    for (const p of r.Properties!.Policies ?? []) docs.push(p.PolicyDocument);
  }
  return docs.flatMap((d) => d.Statement);
}

const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : [v]);

/** The EKS cluster's endpoint settings, as CDK's cluster resource passes them to CreateCluster. */
const clusterEndpointConfig = (app: SynthesizedApp): Record<string, unknown> =>
  resources(app, STACK_NAMES.cluster, 'Custom::AWSCDK-EKS-Cluster')[0].Properties!.Config.resourcesVpcConfig;

/** Whether an IAM action pattern (`*` and `?` wildcards, case-insensitive) covers an action. */
const actionMatches = (pattern: string, action: string): boolean =>
  new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i').test(action);

describe('the default app', () => {
  let app: SynthesizedApp;
  beforeAll(async () => {
    app = await synthApp();
  });

  test('synthesizes every stack of STACK_NAMES: the five users of the original solution know, and the jobs stack', () => {
    expect(Object.keys(app.templates).sort()).toEqual(Object.values(STACK_NAMES).sort());
  });

  test('leaves zero unacknowledged cdk-nag AwsSolutions findings', () => {
    expect(app.nagViolations).toEqual([]);
  });

  test('deploys buckets before the cluster and the cluster before CloudFront', () => {
    const clusterDeps = app.stacks.cluster.stack.dependencies.map((s) => s.stackName);
    expect(clusterDeps).toEqual(expect.arrayContaining([STACK_NAMES.modelsSync, STACK_NAMES.outputsStorage]));
    expect(app.stacks.cloudFrontEntry!.dependencies.map((s) => s.stackName)).toContain(STACK_NAMES.cluster);
  });

  describe('GPU node role', () => {
    /** The Karpenter node role, found through the stack output that names it. */
    const nodeRoleId = (): string => {
      const outputs = app.templates[STACK_NAMES.cluster].findOutputs(OUTPUT_KEYS.karpenterNodeRoleName);
      return Object.values(outputs)[0].Value.Ref;
    };
    const nodeRole = () => app.templates[STACK_NAMES.cluster].toJSON().Resources[nodeRoleId()] as Resource;
    const managedPolicyNames = (role: Resource): string[] =>
      role.Properties!.ManagedPolicyArns.map((arn: unknown) => JSON.stringify(arn).match(/policy\/([\w-]+)/)![1]);
    /** Statements of the inline policies (AWS::IAM::Policy) attached to the node role. */
    const inlineStatements = (): any[] =>
      resources(app, STACK_NAMES.cluster, 'AWS::IAM::Policy')
        .filter((p) => JSON.stringify(p.Properties!.Roles).includes(`"${nodeRoleId()}"`))
        .flatMap((p) => p.Properties!.PolicyDocument.Statement);

    test('holds exactly the worker and ECR pull-only managed policies', () => {
      expect(managedPolicyNames(nodeRole()).sort()).toEqual([...GPU_NODE_MANAGED_POLICIES].sort());
    });

    test('cannot read Parameter Store: no managed policy that grants it, no inline statement that allows ssm:GetParameter*', () => {
      // AWS managed policies whose published documents hold no ssm: action at all
      // (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonEKSWorkerNodePolicy.html,
      // .../AmazonEC2ContainerRegistryPullOnly.html); AmazonSSMManagedInstanceCore, for one, allows
      // ssm:GetParameter and ssm:GetParameters on *.
      const withoutSsmActions = ['AmazonEKSWorkerNodePolicy', 'AmazonEC2ContainerRegistryPullOnly'];
      for (const name of managedPolicyNames(nodeRole())) expect(withoutSsmActions, name).toContain(name);
      const parameterReads = ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath', 'ssm:GetParameterHistory'];
      const statements = [...inlineStatements(), ...(nodeRole().Properties!.Policies ?? []).flatMap((p: any) => p.PolicyDocument.Statement)];
      expect(statements.length).toBeGreaterThan(0);
      for (const statement of statements.filter((s) => s.Effect === 'Allow')) {
        expect(statement.NotAction, JSON.stringify(statement)).toBeUndefined();
        for (const pattern of asList(statement.Action) as string[]) {
          for (const action of parameterReads) expect(actionMatches(pattern, action), `${pattern} allows ${action}`).toBe(false);
        }
      }
    });

    test('lets the SSM agent receive and answer Run Command over both message channels', () => {
      const actions = inlineStatements()
        .filter((s) => s.Effect === 'Allow')
        .flatMap((s) => asList(s.Action) as string[]);
      expect(actions).toEqual(
        expect.arrayContaining(['ssm:UpdateInstanceInformation', 'ssmmessages:OpenControlChannel', 'ec2messages:GetMessages', 'ec2messages:SendReply']),
      );
    });

    test('reads the models bucket and can write no S3 object anywhere in the cluster stack', () => {
      const s3Actions = statements(app, STACK_NAMES.cluster)
        .filter((s) => s.Effect === 'Allow')
        .flatMap((s) => asList(s.Action) as string[])
        .filter((a) => a.startsWith('s3:'));
      expect(s3Actions).toContain('s3:GetObject');
      const writes = s3Actions.filter((a) => /^s3:(\*|Put|Delete|Abort)/.test(a));
      // Only the ComfyUI pods' outputs role writes, and only to the outputs bucket (its folders: checked below).
      const writers = statements(app, STACK_NAMES.cluster).filter((s) =>
        (asList(s.Action) as string[]).some((a) => /^s3:(Put|Delete|Abort)/.test(a)),
      );
      expect(writes.every((a) => a !== 's3:*')).toBe(true);
      for (const s of writers) expect(JSON.stringify(s.Resource)).toContain('comfyui-outputs-123456789012-us-west-2');
    });

    test('no role anywhere attaches AmazonS3FullAccess or AdministratorAccess', () => {
      for (const [name, template] of Object.entries(app.templates)) {
        const json = JSON.stringify(template.toJSON());
        expect(json, name).not.toMatch(/AmazonS3FullAccess|AdministratorAccess/);
      }
    });
  });

  describe('outputs bucket', () => {
    const OUTPUTS_BUCKET = 'comfyui-outputs-123456789012-us-west-2';
    const POD_FOLDER = `${OUTPUTS_BUCKET}/${OUTPUTS_KEY_PREFIX}\${aws:PrincipalTag/kubernetes-pod-name}`;
    const allows = () => statements(app, STACK_NAMES.cluster).filter((s) => s.Effect === 'Allow');
    const onOutputs = (s: any) => JSON.stringify(s.Resource).includes(OUTPUTS_BUCKET) || s.Resource === '*';
    const grants = (s: any, action: string) => (asList(s.Action) as string[]).some((p) => actionMatches(p, action));

    test('no statement in the cluster stack allows deleting an S3 object', () => {
      const deletes = allows().filter((s) => grants(s, 's3:DeleteObject') || grants(s, 's3:DeleteObjectVersion'));
      expect(deletes).toEqual([]);
    });

    test("every write to the outputs bucket is limited to the calling pod's own folder, named by its Pod Identity session tag", () => {
      const writes = allows().filter((s) => onOutputs(s) && ['s3:PutObject', 's3:AbortMultipartUpload'].some((a) => grants(s, a)));
      expect(writes.length).toBeGreaterThan(0);
      for (const s of writes) {
        for (const resource of asList(s.Resource)) expect(JSON.stringify(resource), JSON.stringify(s)).toContain(`${POD_FOLDER}/*`);
        expect(s.Condition?.Null?.['aws:PrincipalTag/kubernetes-pod-name']).toBe('false');
      }
    });

    test('the outputs bucket is listed only by tagged pod sessions (key names; HeadObject needs it for a 404)', () => {
      const lists = allows().filter((s) => onOutputs(s) && grants(s, 's3:ListBucket'));
      expect(lists.length).toBeGreaterThan(0);
      for (const s of lists) expect(s.Condition?.Null?.['aws:PrincipalTag/kubernetes-pod-name'], JSON.stringify(s)).toBe('false');
    });

    test("the Mountpoint CSI driver's own role holds no policy: the outputs PV uses each pod's credentials", () => {
      const template = app.templates[STACK_NAMES.cluster].toJSON();
      const driverRoles = Object.entries(template.Resources as Record<string, Resource>)
        .filter(([id, r]) => r.Type === 'AWS::IAM::Role' && /s3csidriversaRole/.test(id));
      expect(driverRoles).toHaveLength(1);
      const [[driverRoleId, driverRole]] = driverRoles;
      expect(driverRole.Properties!.Policies ?? []).toEqual([]);
      expect(driverRole.Properties!.ManagedPolicyArns ?? []).toEqual([]);
      const attached = resources(app, STACK_NAMES.cluster, 'AWS::IAM::Policy').filter((p) =>
        JSON.stringify(p.Properties!.Roles).includes(`"${driverRoleId}"`),
      );
      expect(attached).toEqual([]);
    });
  });

  test('no role trusts the whole account (no admin role any principal could assume)', () => {
    for (const name of Object.keys(app.templates)) {
      for (const role of resources(app, name, 'AWS::IAM::Role')) {
        const trust = JSON.stringify(role.Properties!.AssumeRolePolicyDocument);
        expect(trust, `${name}: ${trust}`).not.toMatch(/:root/);
      }
    }
  });

  test('every bucket blocks public access, is encrypted and refuses plain HTTP', () => {
    for (const name of Object.keys(app.templates)) {
      const buckets = resources(app, name, 'AWS::S3::Bucket');
      for (const b of buckets) {
        expect(b.Properties!.PublicAccessBlockConfiguration).toEqual({
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        });
        expect(b.Properties!.BucketEncryption).toBeDefined();
      }
      const tlsDenies = resources(app, name, 'AWS::S3::BucketPolicy').filter((p) =>
        p.Properties!.PolicyDocument.Statement.some(
          (s: any) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false',
        ),
      );
      expect(tlsDenies.length, name).toBe(buckets.length);
    }
  });

  test('the models bucket is versioned and its objects retained on cdk destroy by default', () => {
    app.templates[STACK_NAMES.modelsSync].hasResource('AWS::S3::Bucket', {
      Properties: Match.objectLike({
        BucketName: 'comfyui-models-123456789012-us-west-2',
        VersioningConfiguration: { Status: 'Enabled' },
      }),
      DeletionPolicy: 'Retain',
    });
  });

  test('model-sync notifications reach the function through SQS with a dead-letter queue and partial batch failures', () => {
    const t = app.templates[STACK_NAMES.modelsSync];
    t.hasResourceProperties('AWS::SQS::Queue', { RedrivePolicy: Match.objectLike({ maxReceiveCount: 5 }) });
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      MaximumBatchingWindowInSeconds: Match.anyValue(),
    });
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: {
          MODELS_BUCKET: Match.anyValue(),
          CLUSTER_NAME: 'comfyui',
          NODE_POOLS: 'comfyui-single-gpu,comfyui-multi-gpu',
          SYNC_DOCUMENT_NAME: Match.anyValue(),
        },
      },
    });
    t.hasResourceProperties('Custom::S3BucketNotifications', {
      NotificationConfiguration: {
        QueueConfigurations: [
          Match.objectLike({ Events: ['s3:ObjectCreated:*'] }),
          Match.objectLike({ Events: ['s3:ObjectRemoved:*'] }),
        ],
      },
    });
  });

  test('the model-sync function may send commands only to instances tagged with this cluster', () => {
    const sendToInstances = statements(app, STACK_NAMES.modelsSync).find(
      (s) => s.Action === 'ssm:SendCommand' && JSON.stringify(s.Resource).includes(':instance/'),
    );
    expect(sendToInstances.Condition).toEqual({ StringEquals: { 'aws:ResourceTag/eks:eks-cluster-name': 'comfyui' } });
  });

  test('the Karpenter interruption queue exists, refuses plain HTTP and receives spot and health events', () => {
    const t = app.templates[STACK_NAMES.cluster];
    t.hasResourceProperties('AWS::SQS::Queue', { QueueName: STACK_NAMES.cluster });
    t.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    t.hasResourceProperties('AWS::Events::Rule', { EventPattern: { source: ['aws.ec2'], 'detail-type': ['EC2 Spot Instance Interruption Warning'] } });
  });

  test('the ALB is internal, idles at least ten minutes, and admits only CloudFront', () => {
    const t = app.templates[STACK_NAMES.cluster];
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Scheme: 'internal',
      LoadBalancerAttributes: Match.arrayWith([{ Key: 'idle_timeout.timeout_seconds', Value: '900' }]),
    });
    const ingress = albIngress(app);
    expect(ingress).toHaveLength(1);
    expect(ingress[0]).toMatchObject({ FromPort: 80, ToPort: 80 });
    expect(ingress[0].SourceSecurityGroupId).toBeDefined();
    expect(ingress[0].CidrIp).toBeUndefined();
    expect(ingress[0].SourcePrefixListId).toBeUndefined();
  });

  test('the target group serves ComfyUI pods by IP with sticky sessions', () => {
    app.templates[STACK_NAMES.cluster].hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      TargetType: 'ip',
      Port: 8188,
      TargetGroupAttributes: Match.arrayWith([{ Key: 'stickiness.enabled', Value: 'true' }]),
    });
  });

  test('CloudFront caches nothing, forwards every viewer header but Host (WebSockets), redirects to HTTPS and uses a VPC origin', () => {
    app.templates[STACK_NAMES.cloudFrontEntry].hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        DefaultCacheBehavior: Match.objectLike({
          CachePolicyId: CACHING_DISABLED,
          OriginRequestPolicyId: ALL_VIEWER_EXCEPT_HOST_HEADER,
          ViewerProtocolPolicy: 'redirect-to-https',
          AllowedMethods: Match.arrayWith(['POST', 'DELETE']),
        }),
        // The ALB's VPC origin; the other is the jobs API's function URL (test/lib/jobs-edge.test.ts).
        Origins: Match.arrayWith([Match.objectLike({ VpcOriginConfig: Match.anyValue() })]),
      }),
    });
    app.templates[STACK_NAMES.cloudFrontEntry].hasResourceProperties('AWS::CloudFront::VpcOrigin', {
      VpcOriginEndpointConfig: Match.objectLike({ OriginProtocolPolicy: 'http-only', HTTPPort: 80 }),
    });
  });

  test('the ECR repository scans on push, has immutable tags and a lifecycle rule', () => {
    app.templates[STACK_NAMES.ecrRepo].hasResourceProperties('AWS::ECR::Repository', {
      ImageScanningConfiguration: { ScanOnPush: true },
      ImageTagMutability: 'IMMUTABLE',
      LifecyclePolicy: Match.objectLike({ LifecyclePolicyText: Match.stringLikeRegexp('imageCountMoreThan') }),
    });
  });

  test('the lifecycle rule keeps ten versions of every image build_and_push.sh pushes', () => {
    const pushed = execFileSync('bash', ['comfyui_image/build_and_push.sh', '--dry-run', '--repository',
      '123456789012.dkr.ecr.us-east-1.amazonaws.com/comfyui'], { encoding: 'utf8' })
      .split('\n').filter((line) => line.startsWith('docker push ')).length;
    const repository = Object.values(app.templates[STACK_NAMES.ecrRepo].findResources('AWS::ECR::Repository'))[0];
    const rules = JSON.parse(repository.Properties.LifecyclePolicy.LifecyclePolicyText).rules;
    const keep = rules.find((rule: { selection: { countType: string } }) => rule.selection.countType === 'imageCountMoreThan');
    expect(pushed).toBeGreaterThan(1);
    expect(keep.selection.countNumber).toBe(pushed * 10);
  });

  test('every stack outputs what later steps read', () => {
    app.templates[STACK_NAMES.cluster].hasOutput('ComfyuiTargetGroupArn', {});
    app.templates[STACK_NAMES.cluster].hasOutput('KarpenterNodeRoleName', {});
    app.templates[STACK_NAMES.cluster].hasOutput('KubeconfigCommand', {
      Value: 'aws eks update-kubeconfig --name comfyui --region us-west-2',
    });
    app.templates[STACK_NAMES.modelsSync].hasOutput('ModelsBucketName', {});
    app.templates[STACK_NAMES.outputsStorage].hasOutput('OutputsBucketName', {});
    app.templates[STACK_NAMES.ecrRepo].hasOutput('EcrRepositoryUri', {});
    app.templates[STACK_NAMES.cloudFrontEntry].hasOutput('CloudFrontUrl', {});
  });

  test('every output the manifest renderer reads exists, and literal ones match the example values', () => {
    const example = exampleStackValues(loadConfig(() => undefined));
    for (const [key, source] of Object.entries(STACK_VALUE_SOURCES)) {
      const outputs = app.templates[source.stack].findOutputs(source.output);
      expect(Object.keys(outputs), `${source.stack}.${source.output}`).toHaveLength(1);
      const value = Object.values(outputs)[0].Value;
      if (typeof value === 'string' && !['karpenterNodeRoleName', 'nodeSyncBundleUrl'].includes(key)) {
        expect(value, key).toBe(example[key as keyof typeof example]);
      }
    }
  });

  test('the ALB sits alone in subnets inside the block NetworkPolicies admit', () => {
    const cluster = app.templates[STACK_NAMES.cluster];
    const block = albSubnetsCidr('10.0.0.0/16');
    const subnets = cluster.findResources('AWS::EC2::Subnet');
    const albSubnetIds = Object.keys(subnets).filter((id) => cidrContains(block, subnets[id].Properties.CidrBlock));
    expect(albSubnetIds).toHaveLength(2);
    cluster.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Scheme: 'internal',
      Subnets: albSubnetIds.map((id) => ({ Ref: id })),
    });
  });

  test('the VPC CNI enforces NetworkPolicies in standard mode, written out: strict would cut off the kube-system pods no policy selects', () => {
    const addons = resources(app, STACK_NAMES.cluster, 'AWS::EKS::Addon').filter((r) => r.Properties!.AddonName === 'vpc-cni');
    expect(addons).toHaveLength(1);
    const values = JSON.parse(addons[0].Properties!.ConfigurationValues);
    expect(values.enableNetworkPolicy).toBe('true');
    // The key the add-on's configuration schema names (env of the aws-node container).
    expect(values.env).toMatchObject({ NETWORK_POLICY_ENFORCING_MODE: 'standard' });
  });

  test('the Load Balancer Controller may register targets in the ComfyUI target group only, and otherwise only read', () => {
    const { stack, cluster } = app.stacks.cluster;
    const serviceAccount = cluster.node.findChild('aws-load-balancer-controller') as eks.ServiceAccount;
    const policy = serviceAccount.role.node.findChild('DefaultPolicy').node.defaultChild as CfnElement;
    const template = app.templates[STACK_NAMES.cluster].toJSON();
    const statements: any[] = template.Resources[stack.resolve(policy.logicalId)].Properties.PolicyDocument.Statement;
    const targetGroup = Object.values(app.templates[STACK_NAMES.cluster].findOutputs(OUTPUT_KEYS.targetGroupArn))[0].Value;
    const isRead = (action: string) => /^(ec2|elasticloadbalancing):(Describe|Get)[A-Za-z]+$/.test(action);
    const writes = statements.filter((st) => (asList(st.Action) as string[]).some((a) => !isRead(a)));
    expect(statements.every((st) => st.Effect === 'Allow' && st.Condition === undefined)).toBe(true);
    expect(writes).toEqual([
      expect.objectContaining({
        Action: ['elasticloadbalancing:DeregisterTargets', 'elasticloadbalancing:RegisterTargets'],
        Resource: targetGroup,
      }),
    ]);
  });

  test('the Kubernetes API endpoint is private by default, and synth says how to open it to your IP', () => {
    expect(clusterEndpointConfig(app)).toEqual(expect.objectContaining({ endpointPublicAccess: false, endpointPrivateAccess: true }));
    expect(clusterEndpointConfig(app).publicAccessCidrs).toBeUndefined();
    const warnings = Annotations.fromStack(app.stacks.cluster.stack).findWarning('*', Match.stringLikeRegexp('endpoint is private'));
    expect(warnings).toHaveLength(1);
    expect(String(warnings[0].entry.data)).toContain('-c clusterEndpointPublicCidrs="$(curl -s https://checkip.amazonaws.com)/32"');
  });

  test('the cluster service CIDR is the one NetworkPolicies name', () => {
    expect(JSON.stringify(app.templates[STACK_NAMES.cluster].toJSON())).toContain(
      `"serviceIpv4Cidr":"${KUBERNETES_SERVICE_CIDR}"`,
    );
  });

  test('the GPU node role reads exactly the node-sync bundle object in the asset bucket', () => {
    const policies = app.templates[STACK_NAMES.cluster].findResources('AWS::IAM::Policy');
    const statements = Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement);
    const bundle = statements.filter((st: { Sid?: string }) => st.Sid === 'ReadNodeSyncBundle');
    expect(bundle).toHaveLength(1);
    expect(bundle[0].Action).toBe('s3:GetObject');
    expect(JSON.stringify(bundle[0].Resource)).toMatch(/cdk-hnb659fds-assets-.*\/[0-9a-f]{64}\.zip/);
  });
});

describe('configured variants', () => {
  test('without acknowledgements cdk-nag reports findings, so the zero-findings check can fail', async () => {
    const app = await synthApp({}, { acknowledge: false });
    expect(app.nagViolations.length).toBeGreaterThan(0);
  });

  test('cloudFront=false drops the CloudFront stack and opens the ALB to the VPC only', async () => {
    const app = await synthApp({ cloudFront: 'false', albExposure: 'vpc', jobs: 'false' });
    expect(Object.keys(app.templates)).not.toContain(STACK_NAMES.cloudFrontEntry);
    expect(app.nagViolations).toEqual([]);
    expect(albIngress(app)).toEqual([expect.objectContaining({ FromPort: 80, CidrIp: '10.0.0.0/16' })]);
    expect(JSON.stringify(Object.values(app.templates).map((t) => t.toJSON()))).not.toContain('CloudFront-VPCOrigins-Service-SG');
  });

  test('allow-listed CIDRs are admitted beside CloudFront', async () => {
    const app = await synthApp({ albExposure: 'cidrs', albAllowedCidrs: '10.50.0.0/16' });
    const sources = albIngress(app).map((r: any) => r.CidrIp ?? (r.SourceSecurityGroupId ? 'cloudfront-vpc-origin' : 'other'));
    expect(sources.sort()).toEqual(['10.50.0.0/16', 'cloudfront-vpc-origin']);
  });

  test('clusterEndpointPublicCidrs opens the public endpoint to those networks only, with cdk-nag EKS1 acknowledged', async () => {
    const app = await synthApp({ clusterEndpointPublicCidrs: '203.0.113.7/32' });
    expect(clusterEndpointConfig(app)).toEqual(
      expect.objectContaining({ endpointPublicAccess: true, endpointPrivateAccess: true, publicAccessCidrs: ['203.0.113.7/32'] }),
    );
    expect(app.nagViolations).toEqual([]);
    expect(Annotations.fromStack(app.stacks.cluster.stack).findWarning('*', Match.stringLikeRegexp('endpoint'))).toEqual([]);
  });

  test('a configured admin role is mapped to system:masters in aws-auth', async () => {
    const app = await synthApp({ clusterAdminArn: 'arn:aws:sts::123456789012:assumed-role/Admin/jane' });
    const json = JSON.stringify(app.templates[STACK_NAMES.cluster].toJSON());
    expect(json).toContain('arn:aws:iam::123456789012:role/Admin');
    expect(json).toContain('system:masters');
  });

  test('dataRemovalPolicy=destroy deletes buckets and empties them on cdk destroy', async () => {
    const app = await synthApp({ dataRemovalPolicy: 'destroy' });
    app.templates[STACK_NAMES.outputsStorage].hasResource('AWS::S3::Bucket', {
      Properties: Match.objectLike({ BucketName: 'comfyui-outputs-123456789012-us-west-2' }),
      DeletionPolicy: 'Delete',
    });
    app.templates[STACK_NAMES.outputsStorage].resourceCountIs('Custom::S3AutoDeleteObjects', 2);
  });
});
