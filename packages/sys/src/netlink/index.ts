export * from './constants.js';
export * from './attrs.js';
export * from './message.js';
export * from './errno.js';
export * from './socket.js';
export * from './genl.js';
export * from './rtnetlink.js';
