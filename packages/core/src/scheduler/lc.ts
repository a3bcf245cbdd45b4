/**
 * lc — least connection (net/netfilter/ipvs/ip_vs_lc.c).
 *
 * Among destinations that are not overloaded and have weight != 0, the one with the smallest overhead
 * activeconns * 256 + inactconns (ip_vs_dest_conn_overhead). Ties go to the first in list order (strict <).
 * Tracked destinations are answered in O(1) by {@link indexedScheduler}; others by the kernel's scan.
 */
import { indexedScheduler } from './indexed.js';
import type { SchedDest, SchedulerFactory } from './types.js';

export const createLc: SchedulerFactory = () => indexedScheduler('lc', 'lc', scanLc);

/** The kernel's loop, literally. */
export function scanLc(dests: readonly SchedDest[]): SchedDest | null {
  let least: SchedDest | null = null;
  let loh = 0;
  for (let i = 0, n = dests.length; i < n; i++) {
    const d = dests[i]!;
    if (d.overloaded || d.weight === 0) continue;
    const doh = d.activeConns * 256 + d.inactiveConns;
    if (least === null || doh < loh) {
      least = d;
      loh = doh;
    }
  }
  return least;
}
