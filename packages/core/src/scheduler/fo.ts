/**
 * fo — weighted fail over (net/netfilter/ipvs/ip_vs_fo.c).
 *
 * The non-overloaded destination with the highest weight; the comparison is strict and starts from 0,
 * so weight-0 destinations are never chosen and ties go to the first in list order.
 */
import type { SchedDest, Scheduler, SchedulerFactory } from './types.js';

export const createFo: SchedulerFactory = () => {
  let dests: readonly SchedDest[] = [];
  return {
    name: 'fo',
    update(next) {
      dests = next;
    },
    pick() {
      let best: SchedDest | null = null;
      let hw = 0;
      for (let i = 0, n = dests.length; i < n; i++) {
        const d = dests[i]!;
        if (!d.overloaded && d.weight > hw) {
          best = d;
          hw = d.weight;
        }
      }
      return best;
    },
  } satisfies Scheduler;
};
