/**
 * sed — shortest expected delay (net/netfilter/ipvs/ip_vs_sed.c).
 *
 * As wlc, but the overhead is activeconns + 1 (the incoming connection counts; inactive ones do not).
 * The kernel multiplies these as unsigned 32-bit values, which wraps once (active + 1) * weight reaches 2^32;
 * here the products are exact (below 2^53), so results differ from the kernel only past that wrap.
 * Tracked destinations are answered in O(1) by {@link indexedScheduler}; others by the kernel's scan.
 */
import { indexedScheduler } from './indexed.js';
import type { SchedDest, SchedulerFactory } from './types.js';

export const createSed: SchedulerFactory = () => indexedScheduler('sed', 'sed', scanSed);

/** The kernel's loop, literally. */
export function scanSed(dests: readonly SchedDest[]): SchedDest | null {
  const n = dests.length;
  let i = 0;
  let least: SchedDest | null = null;
  for (; i < n; i++) {
    const d = dests[i]!;
    if (!d.overloaded && d.weight > 0) {
      least = d;
      break;
    }
  }
  if (least === null) return null;
  let loh = least.activeConns + 1;
  let lw = least.weight;
  for (i++; i < n; i++) {
    const d = dests[i]!;
    if (d.overloaded) continue;
    const doh = d.activeConns + 1;
    if (loh * d.weight > doh * lw) {
      least = d;
      loh = doh;
      lw = d.weight;
    }
  }
  return least;
}
