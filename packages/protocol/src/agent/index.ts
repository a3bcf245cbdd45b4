export * from './frames.js';
export * from './vote.js';
export * from './handshake.js';
export * from './agent-check.js';
