import { spawnSync } from 'child_process';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import {
  GPU_NODE_FEATURE_GATES,
  gpuNodeUserData,
  INSTALL_RETRY_SECONDS,
  NODE_CONFIG_CONTENT_TYPE,
} from '../../lib/manifests/node-user-data';
import { modelSyncLogGroupName } from '../../lib/names';

const userData = gpuNodeUserData({
  clusterName: 'studio',
  modelsBucketName: 'models',
  region: 'us-west-2',
  nodeSyncBundleUrl: `s3://cdk-assets/${'0'.repeat(64)}.zip`,
});

interface MimePart {
  readonly contentType: string;
  readonly body: string;
}

/**
 * The parts as Python's email package reads them: cloud-init parses user data with it. Karpenter and nodeadm
 * read the same archive with Go's mime/multipart, which splits on the same boundary lines.
 */
function mimeParts(text: string): { contentType: string; parts: MimePart[] } {
  const script = [
    'import email, json, sys',
    'message = email.message_from_string(sys.stdin.read())',
    'parts = [{"contentType": p.get_content_type(), "body": p.get_payload()} for p in message.get_payload()]',
    'print(json.dumps({"contentType": message.get_content_type(), "parts": parts}))',
  ].join('\n');
  const result = spawnSync('python3', ['-c', script], { input: text, encoding: 'utf8' });
  expect(result.stderr).toBe('');
  return JSON.parse(result.stdout);
}

describe('the GPU node user data', () => {
  const archive = mimeParts(userData);
  const shellParts = archive.parts.filter((p) => p.contentType === 'text/x-shellscript');
  const nodeConfigParts = archive.parts.filter((p) => p.contentType === NODE_CONFIG_CONTENT_TYPE);

  test('is a MIME multipart archive of one shell part and one NodeConfig part, nothing else', () => {
    expect(archive.contentType).toBe('multipart/mixed');
    expect(archive.parts.map((p) => p.contentType)).toEqual(['text/x-shellscript', NODE_CONFIG_CONTENT_TYPE]);
  });

  test("its NodeConfig only turns on nodeadm's FastImagePull gate, leaving cluster and kubelet to Karpenter's", () => {
    const nodeConfig = parse(nodeConfigParts[0].body);
    expect(nodeConfig).toEqual({
      apiVersion: 'node.eks.aws/v1alpha1',
      kind: 'NodeConfig',
      spec: { featureGates: { FastImagePull: true } },
    });
    expect(nodeConfig.spec.featureGates).toEqual(GPU_NODE_FEATURE_GATES);
  });

  test('its shell part alone is valid bash', () => {
    const result = spawnSync('bash', ['-n'], { input: shellParts[0].body, encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(shellParts[0].body.startsWith('#!/bin/bash\n')).toBe(true);
  });

  test('runs the installer as a transient unit that systemd restarts until it succeeds (a boot-time network hiccup heals)', () => {
    const command = userData.slice(userData.indexOf('systemd-run '), userData.lastIndexOf('install-node-sync.sh'));
    expect(command).toContain('--no-block');
    expect(command).toContain('--property=Restart=on-failure');
    expect(command).toContain(`--property=RestartSec=${INSTALL_RETRY_SECONDS}`);
    // systemd refuses a sixth start within 10 s (StartLimitBurst=5, StartLimitIntervalSec=10 s by default).
    expect(INSTALL_RETRY_SECONDS).toBeGreaterThan(2);
  });

  test('tells the installer the log group of the SSM-run syncs, where the boot sync reports too', () => {
    expect(userData).toContain(`--log-group '${modelSyncLogGroupName('studio')}'`);
  });
});
