import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Synthesizing the EKS stack takes a few seconds on a 2-core machine.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // One temporary folder per run, removed at the end (test/global-temp-dir.ts).
    globalSetup: ['test/global-temp-dir.ts'],
  },
});
