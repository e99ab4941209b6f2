import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  // Vitest keeps each file's last duration here and starts the longest files first, so the two
  // workers end together. Outside node_modules, so the order survives `npm ci` (.ci/run's first
  // pass would otherwise start files by size, and the long small ones last).
  cacheDir: '.cache/vite',
  resolve: {
    // One graphql instance: Vite would pick the ESM build for our sources while dependencies
    // load the CommonJS one, and graphql refuses to mix the two.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // One migrated database per run that every test database starts from; one Chromium per run
    // for the console's files, launched when the first of them asks.
    globalSetup: ['test/global-setup.ts', 'test/browser-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Files share a worker's loaded modules: loading the app's module graph again for each file
    // was over a minute of a run's CPU. Each file still starts its own apps and databases.
    isolate: false,
    fileParallelism: true,
    maxWorkers: 2,
  },
});
