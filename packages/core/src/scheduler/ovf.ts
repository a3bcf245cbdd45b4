/**
 * ovf — overflow connection (net/netfilter/ipvs/ip_vs_ovf.c).
 *
 * Skips destinations that are overloaded, have weight 0, or have more active connections than their weight;
 * among the rest the highest weight wins, ties to the first in list order. Connections stay on the heaviest
 * server until its active count exceeds its weight, then overflow to the next.
 * Tracked destinations are answered in O(1) by {@link indexedScheduler}; others by this loop.
 */
import { indexedScheduler } from './indexed.js';
import type { SchedDest, SchedulerFactory } from './types.js';

export const createOvf: SchedulerFactory = () => indexedScheduler('ovf', 'ovf', scanOvf);

/** The kernel's loop, literally. */
export function scanOvf(dests: readonly SchedDest[]): SchedDest | null {
  let best: SchedDest | null = null;
  let hw = 0;
  for (let i = 0, n = dests.length; i < n; i++) {
    const d = dests[i]!;
    const w = d.weight;
    if (d.overloaded || d.activeConns > w || w === 0) continue;
    if (best === null || w > hw) {
      best = d;
      hw = w;
    }
  }
  return best;
}
