/**
 * wlc — weighted least connection, the IPVS default (net/netfilter/ipvs/ip_vs_wlc.c).
 * The rule and the exactness argument are in {@link weightedLeast}. Tracked destinations are answered from a
 * {@link LeastIndex} in O(1); others by the kernel's scan.
 */
import { LeastIndex } from './least-index.js';
import { weightedLeast } from './least.js';
import type { SchedDest, Scheduler, SchedulerFactory } from './types.js';

export const createWlc: SchedulerFactory = () => {
  let dests: readonly SchedDest[] = [];
  const index = new LeastIndex('wlc');
  let indexed = false;
  return {
    name: 'wlc',
    update(next) {
      dests = next;
      indexed = index.attach(next);
    },
    close() {
      index.detach();
      indexed = false;
    },
    pick() {
      return indexed ? index.best() : weightedLeast(dests);
    },
  } satisfies Scheduler;
};
