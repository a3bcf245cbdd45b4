/**
 * rr — round robin (net/netfilter/ipvs/ip_vs_rr.c).
 *
 * A cursor points at the last chosen destination (or the list head). Each pick walks forward from it,
 * wrapping once, and takes the first destination that is not overloaded and has weight > 0.
 * Adding a destination leaves the cursor on the same destination; deleting the one under the cursor moves it
 * to the destination before it (ip_vs_rr_del_dest), so the rotation continues where it was.
 */
import type { SchedDest, Scheduler, SchedulerFactory } from './types.js';

const HEAD = -1;

export const createRr: SchedulerFactory = () => {
  let dests: readonly SchedDest[] = [];
  let cursor = HEAD;

  return {
    name: 'rr',
    update(next) {
      cursor = relocateCursor(dests, next, cursor);
      dests = next;
    },
    pick() {
      const n = dests.length;
      let i = cursor;
      for (let k = 0; k < n; k++) {
        i = i + 1 === n ? 0 : i + 1;
        const d = dests[i]!;
        if (!d.overloaded && d.weight > 0) {
          cursor = i;
          return d;
        }
      }
      return null;
    },
  } satisfies Scheduler;
};

/** Keep the cursor on its destination; if that one left, fall back to the nearest earlier survivor. */
function relocateCursor(prev: readonly SchedDest[], next: readonly SchedDest[], cursor: number): number {
  if (cursor === HEAD || cursor >= prev.length) return HEAD;
  for (let i = cursor; i >= 0; i--) {
    const at = next.indexOf(prev[i]!);
    if (at >= 0) return at;
  }
  return HEAD;
}
