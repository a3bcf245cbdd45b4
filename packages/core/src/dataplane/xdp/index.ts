export { createXdpDataplane, interfaceIPv4 } from './dataplane.js';
export type { XdpDataplane, XdpDataplaneOptions } from './dataplane.js';
export { DEFAULT_XDP_OBJECT, XdpProgram, interfaceIndex, verifierTail } from './loader.js';
export type { XdpAttachedMode, XdpMode, XdpMapName, XdpProgramOptions } from './loader.js';
export { XDP_SCHEDULERS, cycleLength } from './rings.js';
export * as xdpLayout from './layout.js';
export { BpfMap, XDP_ABORTED, XDP_DROP, XDP_PASS, XDP_REDIRECT, XDP_TX, testRunXdp } from '@vsd/sys';
export type { TestRunResult } from '@vsd/sys';
