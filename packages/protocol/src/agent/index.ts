export * from './frames.js';
export * from './vote.js';
