import * as fs from 'fs';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../../lib/config';
import { JOB_WEBHOOKS_ENV } from '../../lambda/job-webhooks/settings';
import { JOBS_API_ENV } from '../../lambda/jobs-api/settings';
import { JOBS_DEAD_LETTER_ENV } from '../../lambda/jobs-dead-letter/settings';
import { JOBS, TERMINAL_STATUSES } from '../../lib/jobs/contract';
import { COMFYUI_NAMESPACE, JOB_RUNNER_SERVICE_ACCOUNT, OUTPUT_KEYS, STACK_NAMES } from '../../lib/names';
import { JobsStack } from '../../lib/stacks/jobs-stack';

/**
 * The jobs stack alone, in a bare app (it takes only the config: the cluster and the outputs bucket by name), with
 * assertions on the properties docs/jobs.md relies on.
 */
const OUTPUTS_BUCKET = 'comfyui-outputs-123456789012-us-west-2';
const TEMPLATES_BUCKET = 'comfyui-templates-123456789012-us-west-2';

type Resource = { Type: string; Properties: Record<string, any>; DeletionPolicy?: string };
type Statement = { Sid?: string; Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };
const asList = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

/** cdk.json's feature flags (S3 access logs through bucket policies, among others), as the real app has them. */
const CDK_JSON_CONTEXT = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8')).context;

function synthJobs(context: Record<string, unknown> = {}): Template {
  const app = new App({ context: CDK_JSON_CONTEXT });
  const config = loadConfig((key) => context[key]);
  const stack = new JobsStack(app, STACK_NAMES.jobs, { env: { account: config.account, region: config.region }, config });
  return Template.fromStack(stack);
}

/** `{"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ...]]}` as the plain `arn:aws...` IAM sees, as text. */
const plainArns = (value: unknown): string =>
  JSON.stringify(value).replace(/\{"Fn::Join":\["",\["arn:",\{"Ref":"AWS::Partition"\},"([^"]*)"\]\]\}/g, '"arn:aws$1"');

describe('the jobs stack', () => {
  let template: Template;
  let resources: Record<string, Resource>;
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
  const logicalId = (type: string, idPrefix: string) => {
    const found = ofType(type).filter(([id]) => id.startsWith(idPrefix));
    expect(found.map(([id]) => id), `${type} ${idPrefix}*`).toHaveLength(1);
    return found[0][0];
  };
  /** Every statement of a role: its inline policies and the AWS::IAM::Policy resources attached to it. */
  const roleStatements = (roleIdPrefix: string): Statement[] => {
    const roleId = logicalId('AWS::IAM::Role', roleIdPrefix);
    const inline = (resources[roleId].Properties.Policies ?? []).flatMap((p: any) => p.PolicyDocument.Statement);
    const attached = ofType('AWS::IAM::Policy')
      .filter(([, p]) => p.Properties.Roles.some((r: any) => r.Ref === roleId))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
    return JSON.parse(plainArns([...inline, ...attached]));
  };
  const actionsOf = (statements: Statement[]) => statements.flatMap((s) => asList(s.Action)).sort();
  const functionEnv = (idPrefix: string) => resources[logicalId('AWS::Lambda::Function', idPrefix)].Properties.Environment.Variables;

  beforeAll(() => {
    template = synthJobs();
    resources = template.toJSON().Resources;
  });

  describe('table', () => {
    const table = () => ofType('AWS::DynamoDB::Table').map(([, r]) => r);

    test('is one on-demand table keyed by the contract partition key, with point-in-time recovery, TTL and a stream of both images', () => {
      expect(table()).toHaveLength(1);
      const [{ Properties: p }] = table();
      expect(p.KeySchema).toEqual([{ AttributeName: JOBS.table.partitionKey, KeyType: 'HASH' }]);
      expect(p.BillingMode).toBe('PAY_PER_REQUEST');
      expect(p.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
      expect(p.TimeToLiveSpecification).toEqual({ AttributeName: JOBS.table.ttlAttribute, Enabled: true });
      expect(p.StreamSpecification).toEqual({ StreamViewType: 'NEW_AND_OLD_IMAGES' });
    });

    test('has the sparse byOwner index: owner (string), create_time (number), every attribute projected', () => {
      const [{ Properties: p }] = table();
      expect(p.GlobalSecondaryIndexes).toEqual([
        {
          IndexName: JOBS.table.ownerIndexName,
          KeySchema: [
            { AttributeName: JOBS.table.ownerIndexPartitionKey, KeyType: 'HASH' },
            { AttributeName: JOBS.table.ownerIndexSortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ]);
      const types = Object.fromEntries(p.AttributeDefinitions.map((a: any) => [a.AttributeName, a.AttributeType]));
      expect(types).toEqual({ [JOBS.table.partitionKey]: 'S', [JOBS.table.ownerIndexPartitionKey]: 'S', [JOBS.table.ownerIndexSortKey]: 'N' });
    });

    test('is encrypted with the AWS-owned key (no KMS key to pay for) and follows dataRemovalPolicy', () => {
      const [{ Properties: p, DeletionPolicy }] = table();
      expect(p.SSESpecification?.KMSMasterKeyId).toBeUndefined();
      expect(p.SSESpecification?.SSEEnabled ?? false).toBe(false);
      expect(ofType('AWS::KMS::Key')).toEqual([]);
      expect(DeletionPolicy).toBe('Retain');
      const destroyed = synthJobs({ dataRemovalPolicy: 'destroy' }).toJSON().Resources;
      const [destroyedTable] = Object.values(destroyed as Record<string, Resource>).filter((r) => r.Type === 'AWS::DynamoDB::Table');
      expect(destroyedTable.DeletionPolicy).toBe('Delete');
    });
  });

  describe('queues', () => {
    const queue = (idPrefix: string) => resources[logicalId('AWS::SQS::Queue', idPrefix)].Properties;

    test('the jobs queue hides a message for the runner visibility timeout of the contract, and dead-letters it after 5 receives', () => {
      const jobs = queue('QueuesJobs403');
      expect(jobs.VisibilityTimeout).toBe(JOBS.runner.visibilityTimeoutSeconds);
      expect(jobs.RedrivePolicy).toEqual({ deadLetterTargetArn: { 'Fn::GetAtt': [logicalId('AWS::SQS::Queue', 'QueuesJobsDeadLetter'), 'Arn'] }, maxReceiveCount: 5 });
      expect(queue('QueuesJobsDeadLetter').MessageRetentionPeriod).toBe(14 * 24 * 3600);
    });

    test('the webhook retry queue has its own dead-letter queue, and outlasts six function timeouts', () => {
      const retries = queue('QueuesWebhookRetries7');
      expect(retries.RedrivePolicy.deadLetterTargetArn).toEqual({ 'Fn::GetAtt': [logicalId('AWS::SQS::Queue', 'QueuesWebhookRetriesDeadLetter'), 'Arn'] });
      expect(retries.RedrivePolicy.maxReceiveCount).toBe(5);
      const webhooks = resources[logicalId('AWS::Lambda::Function', 'WebhooksFunction')].Properties;
      expect(retries.VisibilityTimeout).toBe(webhooks.Timeout * 6);
    });

    test('every queue uses SSE-SQS and refuses requests without TLS', () => {
      const queues = ofType('AWS::SQS::Queue');
      expect(queues).toHaveLength(4);
      for (const [id, q] of queues) expect(q.Properties.SqsManagedSseEnabled, id).toBe(true);
      const policies = ofType('AWS::SQS::QueuePolicy').map(([, p]) => JSON.stringify(p.Properties.PolicyDocument));
      expect(policies).toHaveLength(4);
      for (const policy of policies) expect(policy).toContain('"aws:SecureTransport":"false"');
    });
  });

  describe('functions', () => {
    test('the API has a function URL that accepts only IAM-signed requests', () => {
      const urls = ofType('AWS::Lambda::Url');
      expect(urls).toHaveLength(1);
      expect(urls[0][1].Properties.AuthType).toBe('AWS_IAM');
      expect(urls[0][1].Properties.TargetFunctionArn).toEqual({ 'Fn::GetAtt': [logicalId('AWS::Lambda::Function', 'ApiFunction'), 'Arn'] });
    });

    test('each function gets exactly the environment names its settings.ts declares, with the stack values', () => {
      expect(Object.keys(functionEnv('ApiFunction')).filter((k) => !k.startsWith('POWERTOOLS_')).sort()).toEqual(
        Object.values(JOBS_API_ENV).filter((k) => k !== JOBS_API_ENV.webhookAllowHttp).sort(),
      );
      expect(Object.keys(functionEnv('WebhooksFunction')).filter((k) => !k.startsWith('POWERTOOLS_')).sort()).toEqual(
        Object.values(JOB_WEBHOOKS_ENV).filter((k) => k !== JOB_WEBHOOKS_ENV.webhookAllowHttp).sort(),
      );
      expect(Object.keys(functionEnv('DeadLetterFunction')).filter((k) => !k.startsWith('POWERTOOLS_'))).toEqual([JOBS_DEAD_LETTER_ENV.tableName]);
      const api = functionEnv('ApiFunction');
      expect(api[JOBS_API_ENV.outputsBucketName]).toBe(OUTPUTS_BUCKET);
      expect(api[JOBS_API_ENV.templatesBucketName]).toBe(TEMPLATES_BUCKET);
      expect(api[JOBS_API_ENV.retentionDays]).toBe('30');
      expect(api[JOBS_API_ENV.outputUrlSeconds]).toBe('900');
    });

    test('jobsAdmins and jobsRetentionDays reach the API', () => {
      const env = Object.values(synthJobs({ jobsAdmins: 'ana,bo', jobsRetentionDays: '7' }).findResources('AWS::Lambda::Function'))
        .map((f: any) => f.Properties.Environment?.Variables ?? {})
        .find((vars) => JOBS_API_ENV.admins in vars)!;
      expect(env[JOBS_API_ENV.admins]).toBe('ana,bo');
      expect(env[JOBS_API_ENV.retentionDays]).toBe('7');
    });

    test('run on the model-sync runtime and architecture, and log to a group kept a month', () => {
      const functions = ofType('AWS::Lambda::Function').filter(([id]) => /^(Api|Webhooks|DeadLetter)Function/.test(id));
      expect(functions).toHaveLength(3);
      for (const [id, f] of functions) {
        expect(f.Properties.Runtime, id).toBe('nodejs24.x');
        expect(f.Properties.Architectures, id).toEqual(['arm64']);
        const group = resources[f.Properties.LoggingConfig.LogGroup.Ref];
        expect(group.Properties.RetentionInDays, id).toBe(30);
      }
    });
  });

  describe('event sources', () => {
    const mappings = () => ofType('AWS::Lambda::EventSourceMapping').map(([, m]) => m.Properties);
    const from = (sourceIdPrefix: string) =>
      mappings().filter((m) => JSON.stringify(m.EventSourceArn).includes(`"${logicalId(sourceIdPrefix.startsWith('Table') ? 'AWS::DynamoDB::Table' : 'AWS::SQS::Queue', sourceIdPrefix)}"`));

    test('the stream feeds the webhook function only finished jobs with a webhook URL, each once', () => {
      const [stream] = from('Table');
      expect(stream.FunctionName).toEqual({ Ref: logicalId('AWS::Lambda::Function', 'WebhooksFunction') });
      expect(stream.EventSourceArn).toEqual({ 'Fn::GetAtt': [logicalId('AWS::DynamoDB::Table', 'Table'), 'StreamArn'] });
      expect(stream.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
      expect(stream.FilterCriteria.Filters).toHaveLength(1);
      expect(JSON.parse(stream.FilterCriteria.Filters[0].Pattern)).toEqual({
        dynamodb: {
          NewImage: { status: { S: [...TERMINAL_STATUSES] }, webhook_url: { S: [{ exists: true }] } },
          OldImage: { status: { S: [{ 'anything-but': [...TERMINAL_STATUSES] }] } },
        },
      });
    });

    test('the retry queue feeds the same function, and the jobs DLQ the dead-letter function, reporting item failures', () => {
      const [retries] = from('QueuesWebhookRetries7');
      expect(retries.FunctionName).toEqual({ Ref: logicalId('AWS::Lambda::Function', 'WebhooksFunction') });
      const [dead] = from('QueuesJobsDeadLetter');
      expect(dead.FunctionName).toEqual({ Ref: logicalId('AWS::Lambda::Function', 'DeadLetterFunction') });
      for (const m of [retries, dead]) expect(m.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
      // Nothing consumes the jobs queue in AWS: the runner does, from the cluster.
      expect(from('QueuesJobs403')).toEqual([]);
    });
  });

  describe('IAM', () => {
    const table = () => ({ 'Fn::GetAtt': [logicalId('AWS::DynamoDB::Table', 'Table'), 'Arn'] });
    const queueArn = (idPrefix: string) => ({ 'Fn::GetAtt': [logicalId('AWS::SQS::Queue', idPrefix), 'Arn'] });

    test('the job runner role: SQS on the jobs queue, GetItem/UpdateItem on the table, uploads under jobs/ of the outputs bucket', () => {
      const statements = roleStatements('RunnerAccessRole');
      expect(statements.map(({ Sid, ...s }) => s)).toEqual([
        { Effect: 'Allow', Action: ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:ReceiveMessage'], Resource: queueArn('QueuesJobs403') },
        { Effect: 'Allow', Action: 'sqs:GetQueueAttributes', Resource: queueArn('QueuesJobs403') },
        { Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], Resource: table() },
        { Effect: 'Allow', Action: ['s3:AbortMultipartUpload', 's3:PutObject'], Resource: `arn:aws:s3:::${OUTPUTS_BUCKET}/${JOBS.outputsKeyPrefix}*` },
      ]);
    });

    test('the job runner role is assumable only by Pod Identity for the runner service account of this cluster, and associated with it', () => {
      const role = resources[logicalId('AWS::IAM::Role', 'RunnerAccessRole')].Properties;
      expect(role.AssumeRolePolicyDocument.Statement).toEqual([
        {
          Effect: 'Allow',
          Principal: { Service: 'pods.eks.amazonaws.com' },
          Action: ['sts:AssumeRole', 'sts:TagSession'],
          Condition: {
            StringEquals: {
              'aws:RequestTag/eks-cluster-name': 'comfyui',
              'aws:RequestTag/kubernetes-namespace': COMFYUI_NAMESPACE,
              'aws:RequestTag/kubernetes-service-account': JOB_RUNNER_SERVICE_ACCOUNT,
            },
          },
        },
      ]);
      template.hasResourceProperties('AWS::EKS::PodIdentityAssociation', {
        ClusterName: 'comfyui',
        Namespace: COMFYUI_NAMESPACE,
        ServiceAccount: JOB_RUNNER_SERVICE_ACCOUNT,
        RoleArn: { 'Fn::GetAtt': [logicalId('AWS::IAM::Role', 'RunnerAccessRole'), 'Arn'] },
      });
    });

    test('the API: job items, the byOwner index, queue send, templates/ of its bucket, and only GetObject under jobs/ of the outputs bucket', () => {
      const statements = roleStatements('ApiRole');
      const bySid = Object.fromEntries(statements.filter((s) => s.Sid).map((s) => [s.Sid, s]));
      expect(bySid.JobItems.Resource).toEqual(table());
      expect(asList(bySid.JobItems.Action)).toEqual(expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem']));
      expect(plainArns(bySid.JobsByOwner.Resource)).toContain(`/index/${JOBS.table.ownerIndexName}`);
      expect(bySid.QueueJobs).toMatchObject({ Action: 'sqs:SendMessage', Resource: queueArn('QueuesJobs403') });
      expect(bySid.Templates.Resource).toBe(`arn:aws:s3:::${TEMPLATES_BUCKET}/${JOBS.templatesKeyPrefix}*`);
      expect(bySid.ListTemplates).toMatchObject({
        Action: 's3:ListBucket',
        Resource: `arn:aws:s3:::${TEMPLATES_BUCKET}`,
        Condition: { StringLike: { 's3:prefix': [`${JOBS.templatesKeyPrefix}*`] } },
      });
      const onOutputs = statements.filter((s) => JSON.stringify(s.Resource).includes(OUTPUTS_BUCKET));
      expect(onOutputs.map(({ Action, Resource }) => ({ Action, Resource }))).toEqual([
        { Action: 's3:GetObject', Resource: `arn:aws:s3:::${OUTPUTS_BUCKET}/${JOBS.outputsKeyPrefix}*` },
      ]);
    });

    test('webhooks: table read/update, retry queue send and consume, stream read; dead letters: table update and DLQ consume', () => {
      const webhooks = actionsOf(roleStatements('WebhooksRole'));
      expect(webhooks).toEqual(expect.arrayContaining([
        'dynamodb:GetItem', 'dynamodb:UpdateItem', 'sqs:SendMessage', 'sqs:ReceiveMessage', 'sqs:DeleteMessage',
        'dynamodb:GetRecords', 'dynamodb:GetShardIterator',
      ]));
      expect(webhooks.filter((a) => /^(dynamodb:(Delete|Query|Scan)|s3:)/.test(a))).toEqual([]);
      // PutItem only to create a missing webhook secret: user items alone.
      const put = roleStatements('WebhooksRole').filter((s) => [s.Action].flat().includes('dynamodb:PutItem'));
      expect(put.map((s) => s.Condition)).toEqual([
        { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${JOBS.table.userKeyPrefix}*`] } },
      ]);
      const deadLetter = actionsOf(roleStatements('DeadLetterRole'));
      expect(deadLetter.filter((a) => a.startsWith('dynamodb:'))).toEqual(['dynamodb:UpdateItem']);
      expect(deadLetter).toEqual(expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage']));
      expect(deadLetter.filter((a) => a === 'sqs:SendMessage' || a.startsWith('s3:'))).toEqual([]);
    });

    test('no statement allows every action of a service', () => {
      for (const prefix of ['ApiRole', 'WebhooksRole', 'DeadLetterRole', 'RunnerAccessRole']) {
        for (const action of actionsOf(roleStatements(prefix))) expect(action, prefix).not.toMatch(/\*/);
      }
    });
  });

  test('the templates bucket keeps overwritten or deleted templates 30 days as noncurrent versions', () => {
    const [bucket] = ofType('AWS::S3::Bucket').filter(([, b]) => b.Properties.BucketName === TEMPLATES_BUCKET);
    expect(bucket[1].Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(bucket[1].Properties.LifecycleConfiguration.Rules).toEqual(
      expect.arrayContaining([expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 30 }, Status: 'Enabled' })]),
    );
    expect(bucket[1].DeletionPolicy).toBe('Retain');
  });

  test('outputs the jobs queue URL and table name under the keys the manifests read', () => {
    expect(template.findOutputs(OUTPUT_KEYS.jobsQueueUrl)[OUTPUT_KEYS.jobsQueueUrl].Value).toEqual({ Ref: logicalId('AWS::SQS::Queue', 'QueuesJobs403') });
    expect(template.findOutputs(OUTPUT_KEYS.jobsTableName)[OUTPUT_KEYS.jobsTableName].Value).toEqual({ Ref: logicalId('AWS::DynamoDB::Table', 'Table') });
  });
});
