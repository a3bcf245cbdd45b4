export { runVsadm, takeSocketOption, type VsadmIo, type VsadmResult } from './run.js';
export { parseCommand } from './parse.js';
export { createResolver, type Resolver } from './resolve.js';
export { poptScan } from './popt.js';
