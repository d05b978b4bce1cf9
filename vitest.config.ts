import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // One temp root per run, removed at the end (LAKE_KEEP_TEST_TMP=1 keeps it for debugging).
    globalSetup: ['test/global-setup.ts'],
  },
});
