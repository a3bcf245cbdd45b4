export * from './routes.js';
export * from './dataplane.js';
export * from './model.js';
export * from './ha.js';
export * from './health.js';
export * from './agents.js';
export * from './bgp.js';
