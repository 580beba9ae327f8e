import { describe, expect, it } from 'vitest';
import { ModelSyncConfig } from '../../../lambda/model-sync/config';
import {
  buildSyncCommands,
  chunk,
  encodeKeysParameter,
  KEYS_PARAMETER_MAX_CHARS,
  planSync,
  SEND_COMMAND_MAX_INSTANCES,
} from '../../../lambda/model-sync/planner';
import { s3NotificationBody, s3TestEventBody } from '../../helpers/s3-notifications';

const BUCKET = 'comfyui-models-123456789012-us-west-2';
const config: ModelSyncConfig = {
  modelsBucket: BUCKET,
  clusterName: 'comfyui',
  nodePools: ['comfyui-single-gpu', 'comfyui-multi-gpu'],
  syncDocumentName: 'ComfyUI-SyncModels',
  syncLogGroup: '/comfyui/comfyui/model-sync',
};

const msg = (messageId: string, body: string) => ({ messageId, body });

function decodeKeys(parameter: string): string[] {
  return JSON.parse(Buffer.from(parameter, 'base64').toString('utf8'));
}

describe('planSync', () => {
  it('coalesces a burst of 1,000 uploads into one sorted set of keys', () => {
    const messages = Array.from({ length: 1000 }, (_, i) =>
      msg(`m${i}`, s3NotificationBody([{ key: `loras/style-${String(i % 400).padStart(4, '0')}.safetensors` }], BUCKET)),
    );
    const plan = planSync(messages, BUCKET);
    expect(plan.keys).toHaveLength(400);
    expect(plan.keys[0]).toBe('loras/style-0000.safetensors');
    expect([...plan.keys].sort()).toEqual(plan.keys);
    expect(plan.fanOutMessageIds.size).toBe(1000);
  });

  it('decodes spaces, plus signs and unicode exactly as S3 encodes them', () => {
    const keys = ['checkpoints/sd xl base 1.0.safetensors', 'loras/a+b=c.safetensors', 'vae/日本語 モデル é.pt'];
    const body = s3NotificationBody(keys.map((key) => ({ key })), BUCKET);
    expect(body).toContain('sd+xl+base');
    expect(body).toContain('a%2Bb');
    expect(planSync([msg('m1', body)], BUCKET).keys).toEqual([...keys].sort());
  });

  it('treats deletes and lifecycle expirations as changes, so nodes drop the files', () => {
    const body = s3NotificationBody([
      { key: 'checkpoints/old.safetensors', eventName: 'ObjectRemoved:Delete' },
      { key: 'loras/versioned.safetensors', eventName: 'ObjectRemoved:DeleteMarkerCreated' },
      { key: 'vae/expired.pt', eventName: 'LifecycleExpiration:Delete' },
    ], BUCKET);
    expect(planSync([msg('m1', body)], BUCKET).keys).toEqual([
      'checkpoints/old.safetensors', 'loras/versioned.safetensors', 'vae/expired.pt',
    ]);
  });

  it('ignores keys outside the models layout, other buckets and content-neutral events, with reasons', () => {
    const body = s3NotificationBody([
      { key: 'codebuild/artifact.zip' },
      { key: 'checkpoints/' },
      { key: 'README.txt' },
      { key: 'checkpoints/../../etc/passwd' },
      { key: 'loras/x.safetensors', bucket: 'someone-else' },
      { key: 'loras/y.safetensors', eventName: 'ObjectTagging:Put' },
      { key: 'loras/z.safetensors', eventName: 'ObjectRestore:Completed' },
    ], BUCKET);
    const plan = planSync([msg('m1', body)], BUCKET);
    expect(plan.keys).toEqual([]);
    expect(plan.fanOutMessageIds.size).toBe(0);
    expect(plan.ignored.map((i) => i.reason)).toEqual([
      expect.stringContaining('not under a ComfyUI model folder'),
      'a folder marker, not a file',
      expect.stringContaining('not under a ComfyUI model folder'),
      expect.stringContaining('".."'),
      expect.stringContaining("bucket 'someone-else'"),
      expect.stringContaining("'ObjectTagging:Put' does not change"),
      expect.stringContaining("'ObjectRestore:Completed' does not change"),
    ]);
  });

  it('counts S3 test events without planning any sync', () => {
    const plan = planSync([msg('t', s3TestEventBody(BUCKET))], BUCKET);
    expect(plan).toMatchObject({ keys: [], testEvents: 1 });
    expect(plan.malformed.size).toBe(0);
  });

  it('marks malformed bodies by message id and still plans the good ones', () => {
    const plan = planSync([
      msg('not-json', 'hello'),
      msg('no-records', JSON.stringify({ foo: 1 })),
      msg('no-key', JSON.stringify({ Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: BUCKET } } }] })),
      msg('bad-escape', s3NotificationBody([{ key: 'x' }], BUCKET).replace('"x"', '"loras/%E0%A4%A.pt"')),
      msg('good', s3NotificationBody([{ key: 'loras/ok.safetensors' }], BUCKET)),
    ], BUCKET);
    expect([...plan.malformed.keys()]).toEqual(['not-json', 'no-records', 'no-key', 'bad-escape']);
    expect(plan.malformed.get('not-json')).toContain('not JSON');
    expect(plan.malformed.get('no-key')).toContain('s3.object.key');
    expect(plan.malformed.get('bad-escape')).toContain('not valid URL encoding');
    expect(plan.keys).toEqual(['loras/ok.safetensors']);
    expect([...plan.fanOutMessageIds]).toEqual(['good']);
  });
});

describe('chunk', () => {
  it.each([
    [0, []],
    [1, [1]],
    [50, [50]],
    [51, [50, 1]],
    [120, [50, 50, 20]],
  ])('splits %i items into chunks of %j', (n, sizes) => {
    const chunks = chunk(Array.from({ length: n }, (_, i) => i), SEND_COMMAND_MAX_INSTANCES);
    expect(chunks.map((c) => c.length)).toEqual(sizes);
    expect(chunks.flat()).toEqual(Array.from({ length: n }, (_, i) => i));
  });

  it('rejects a size that is not a positive integer', () => {
    expect(() => chunk([1], 0)).toThrow('positive integer, got 0');
  });
});

describe('buildSyncCommands', () => {
  const ids = Array.from({ length: 101 }, (_, i) => `i-${String(i).padStart(17, '0')}`);

  it('sends ceil(nodes / 50) commands carrying the same keys, with timeouts and CloudWatch output', () => {
    const commands = buildSyncCommands(config, ids, ['loras/a b.safetensors']);
    expect(commands.map((c) => c.InstanceIds?.length)).toEqual([50, 50, 1]);
    expect(new Set(commands.flatMap((c) => c.InstanceIds))).toEqual(new Set(ids));
    for (const command of commands) {
      expect(command.DocumentName).toBe('ComfyUI-SyncModels');
      expect(decodeKeys(command.Parameters!.keys[0])).toEqual(['loras/a b.safetensors']);
      expect(Number(command.Parameters!.executionTimeout[0])).toBeGreaterThan(0);
      expect(command.TimeoutSeconds).toBeGreaterThanOrEqual(30);
      expect(command.CloudWatchOutputConfig).toEqual({
        CloudWatchOutputEnabled: true,
        CloudWatchLogGroupName: '/comfyui/comfyui/model-sync',
      });
      expect(command.Comment!.length).toBeLessThanOrEqual(100);
    }
  });

  it('falls back to a full reconcile when the keys would not fit the document parameter', () => {
    const many = Array.from({ length: 2000 }, (_, i) => `loras/${'x'.repeat(40)}-${i}.safetensors`);
    expect(encodeKeysParameter(many)).toBe('');
    const [command] = buildSyncCommands(config, ids.slice(0, 1), many);
    expect(command.Parameters!.keys).toEqual(['']);
    expect(command.Comment).toContain('full reconcile (2000 changed keys)');
  });

  it('encodes keys as base64, so no key can reach the node shell as code', () => {
    const evil = ["loras/'; rm -rf / #.pt", 'loras/$(reboot).pt', 'loras/{{ keys }}.pt'];
    const parameter = encodeKeysParameter(evil);
    expect(parameter).toMatch(/^[A-Za-z0-9+/=]+$/);
    expect(parameter.length).toBeLessThanOrEqual(KEYS_PARAMETER_MAX_CHARS);
    expect(decodeKeys(parameter)).toEqual(evil);
  });
});
