export * from './frame.js';
export * from './frames.js';
