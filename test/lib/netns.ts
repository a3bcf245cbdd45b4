// The namespace lab lives in @vsd/daemon (it also drives `pnpm lab`); the tests use it from source.
export * from '../../packages/daemon/src/lab/netns.js';
