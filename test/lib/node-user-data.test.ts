import { describe, expect, test } from 'vitest';
import { gpuNodeUserData, INSTALL_RETRY_SECONDS } from '../../lib/manifests/node-user-data';
import { modelSyncLogGroupName } from '../../lib/names';

const userData = gpuNodeUserData({
  clusterName: 'studio',
  modelsBucketName: 'models',
  region: 'us-west-2',
  nodeSyncBundleUrl: `s3://cdk-assets/${'0'.repeat(64)}.zip`,
});

describe('the GPU node user data', () => {
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
