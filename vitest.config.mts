import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Bounds against a hang, not pass marks: `npm test` must pass on a loaded 2-core machine, where synthesizing
    // the EKS stack, starting moto or the control plane can take several times as long as on an idle one.
    testTimeout: 600_000,
    hookTimeout: 600_000,
    pool: 'forks',
    // One temporary folder per run, removed at the end (test/global-temp-dir.ts).
    globalSetup: ['test/global-temp-dir.ts'],
  },
});
