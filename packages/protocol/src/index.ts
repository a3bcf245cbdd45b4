/**
 * @vsd/protocol: vsd's wire contracts and nothing else (zod only): the control API route table with its reply
 * types, the agent protocol frames, the peer-sync frames, and the small pure helpers they need.
 */
export * from './address.js';
export * from './schema.js';
export * from './control/index.js';
export * from './agent/index.js';
export * from './auth.js';
export * from './peer/index.js';
export * from './errors.js';
