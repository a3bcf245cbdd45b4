export * from './address.js';
export * from './constants.js';
export * from './keys.js';
export * from './schema.js';
export * from './hint.js';
export * from './strict.js';
export * from './freeze.js';
