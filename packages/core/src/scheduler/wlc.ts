/**
 * wlc — weighted least connection, the IPVS default (net/netfilter/ipvs/ip_vs_wlc.c).
 * The rule and the exactness argument are in {@link weightedLeast}.
 */
import { weightedLeast } from './least.js';
import type { SchedDest, Scheduler, SchedulerFactory } from './types.js';

export const createWlc: SchedulerFactory = () => {
  let dests: readonly SchedDest[] = [];
  return {
    name: 'wlc',
    update(next) {
      dests = next;
    },
    pick() {
      return weightedLeast(dests);
    },
  } satisfies Scheduler;
};
