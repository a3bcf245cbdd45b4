// The agent wire format (frames, votes, proofs, agent-check text) is @vsd/protocol's; the rest is the hub's.
export * from '@vsd/protocol/agent';
export * from './config.js';
export * from './verdict.js';
export * from './hub.js';
export * from './claims.js';
export * from './log-limit.js';
export * from './hub-votes.js';
