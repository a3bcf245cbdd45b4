export * from './protocol.js';
export * from './handshake.js';
export * from './agent-check.js';
export * from './config.js';
export * from './verdict.js';
export * from './hub.js';
export * from './claims.js';
export * from './log-limit.js';
