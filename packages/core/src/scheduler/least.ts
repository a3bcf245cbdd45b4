/**
 * The weighted least-connection scan shared by wlc, lblc and lblcr (ip_vs_wlc_schedule,
 * __ip_vs_lblc_schedule, __ip_vs_lblcr_schedule are the same loop).
 *
 * The first destination that is not overloaded with weight > 0 is `least`; a later non-overloaded destination
 * replaces it when loh * w(d) > doh * w(least), i.e. when its overhead per weight is strictly smaller. A later
 * weight-0 destination never wins (loh * 0 is never greater). Ties keep the earlier one.
 *
 * Exactness: the kernel multiplies in 64 bits. Here overheads and weights are doubles; weight <= 65535 < 2^16
 * and overhead = active * 256 + inactive stays below 2^37 for fewer than 2^29 active connections per real
 * server, so both products stay below 2^53 and are exact. No BigInt is needed.
 */
import { connOverhead } from './overload.js';
import type { SchedDest } from './types.js';

export function weightedLeast(dests: readonly SchedDest[]): SchedDest | null {
  return weightedLeastBy(dests, connOverhead);
}

/**
 * The kernel's weighted-least loop with the overhead as a parameter: wlc/lblc/lblcr use {@link connOverhead},
 * sed uses active + 1. Only the fallback for untracked destinations runs it; tracked ones use the index.
 */
export function weightedLeastBy(dests: readonly SchedDest[], overhead: (d: SchedDest) => number): SchedDest | null {
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
  let loh = overhead(least);
  let lw = least.weight;
  for (i++; i < n; i++) {
    const d = dests[i]!;
    if (d.overloaded) continue;
    const doh = overhead(d);
    if (loh * d.weight > doh * lw) {
      least = d;
      loh = doh;
      lw = d.weight;
    }
  }
  return least;
}
