import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // onnxruntime-node is a native addon: separate processes, not worker threads.
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    env: {
      LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
    },
  },
});
