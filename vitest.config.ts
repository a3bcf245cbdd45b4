import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));
// Tests import workspace packages from src/, so no build is needed to run the unit tier.
const alias = [
  { find: /^@vsd\/daemon\/config$/, replacement: `${root}packages/daemon/src/config-contract.ts` },
  { find: /^@vsd\/protocol\/(agent|control|peer)$/, replacement: `${root}packages/protocol/src/$1/index.ts` },
  { find: /^@vsd\/sys\/netlink$/, replacement: `${root}packages/sys/src/netlink/index.ts` },
  { find: /^@vsd\/(protocol|sys|core|ha|agent|daemon|cli)$/, replacement: `${root}packages/$1/src/index.ts` },
];

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      {
        resolve: { alias },
        test: { name: 'unit', include: ['packages/*/test/**/*.test.ts', 'test/unit/**/*.test.ts'], testTimeout: 20_000 },
      },
      {
        resolve: { alias },
        // Seeded, time-boxed fuzzing of every decoder fed from the network or disk (docs/security.md, "Fuzzing").
        test: { name: 'fuzz', include: ['test/fuzz/**/*.test.ts'], testTimeout: 60_000 },
      },
      {
        resolve: { alias },
        test: {
          name: 'netns',
          include: ['test/netns/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // Namespaces, bridges and fixed lab addresses are shared host state: one file at a time.
          fileParallelism: false,
        },
      },
      {
        resolve: { alias },
        test: {
          name: 'uml',
          include: ['test/uml/**/*.test.ts'],
          testTimeout: 600_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
