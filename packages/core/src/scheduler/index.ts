export type { SchedDest, SchedFlag, SchedPacket, Scheduler, SchedulerFactory, SchedulerOptions, SharedPosition } from './types.js';
export { SCHEDULER_NAMES, createScheduler, isSchedulerName } from './registry.js';
export { IP_VS_SVC_F_SCHED1, IP_VS_SVC_F_SCHED2, IP_VS_SVC_F_SCHED3, schedFlagBits, validateSchedFlags } from './flags.js';
export {
  bindConnection,
  connOverhead,
  connectionBecameActive,
  connectionBecameInactive,
  onThresholdsEdited,
  setThresholds,
  totalConns,
  unbindConnection,
} from './overload.js';
export type { ConnKind } from './overload.js';
export { createSchedDest, createSchedPacket, isAvailable } from './dest.js';
export { SharedCountView, clearSlot, clearThreadCounts, countCell, flagCell, sharedCountCells, type SharedCountCells } from './shared-counts.js';
export type { SchedDestInit } from './dest.js';
export { GOLDEN_RATIO_32, hash32, hsiphash, hsiphashKey, hsiphashU32 } from './hash.js';
export type { HsiphashKey } from './hash.js';
export { MH_PRIMES, createMhScheduler } from './mh.js';
export type { MhScheduler } from './mh.js';
export { createRr } from './rr.js';
export { createWrr } from './wrr.js';
export { createLc } from './lc.js';
export { createWlc } from './wlc.js';
export { createSed } from './sed.js';
export { createNq } from './nq.js';
export { createDh } from './dh.js';
export { createSh } from './sh.js';
export { createLblc, createLblcScheduler } from './lblc.js';
export type { LblcScheduler } from './lblc.js';
export { createLblcr, createLblcrScheduler } from './lblcr.js';
export type { LblcrScheduler } from './lblcr.js';
export { createMh } from './mh.js';
export { createFo } from './fo.js';
export { createOvf } from './ovf.js';
export { createTwos } from './twos.js';
