/**
 * fo — weighted fail over (net/netfilter/ipvs/ip_vs_fo.c).
 *
 * The non-overloaded destination with the highest weight; the comparison is strict and starts from 0,
 * so weight-0 destinations are never chosen and ties go to the first in list order.
 * Tracked destinations are answered in O(1) by {@link indexedScheduler}; others by this loop.
 */
import { indexedScheduler } from './indexed.js';
import type { SchedDest, SchedulerFactory } from './types.js';

export const createFo: SchedulerFactory = () => indexedScheduler('fo', 'fo', scanFo);

/** The kernel's loop, literally. */
export function scanFo(dests: readonly SchedDest[]): SchedDest | null {
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
}
