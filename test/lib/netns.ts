// The namespace lab lives in @vsd/cli (it also drives `pnpm lab`); the tests use it from source.
export * from '../../packages/cli/src/lab/netns.js';
