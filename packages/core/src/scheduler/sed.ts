/**
 * sed — shortest expected delay (net/netfilter/ipvs/ip_vs_sed.c).
 *
 * As wlc, but the overhead is activeconns + 1 (the incoming connection counts; inactive ones do not).
 * The kernel multiplies these as unsigned 32-bit values, which wraps once (active + 1) * weight reaches 2^32;
 * here the products are exact (below 2^53), so results differ from the kernel only past that wrap.
 * Tracked destinations are answered in O(1) by {@link indexedScheduler}; others by the kernel's scan.
 */
import { indexedScheduler } from './indexed.js';
import { weightedLeastBy } from './least.js';
import type { SchedDest, SchedulerFactory } from './types.js';

export const createSed: SchedulerFactory = () => indexedScheduler('sed', 'sed', scanSed);

/** The kernel's loop: wlc's, with the overhead active + 1. */
export function scanSed(dests: readonly SchedDest[]): SchedDest | null {
  return weightedLeastBy(dests, sedOverhead);
}

function sedOverhead(d: SchedDest): number {
  return d.activeConns + 1;
}
