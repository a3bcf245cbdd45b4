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

export const createRr: SchedulerFactory = (options) => {
  let dests: readonly SchedDest[] = [];
  let cursor = HEAD;
  const shared = options.shared;

  /** The first available destination after position `from`, or -1. */
  const next = (from: number): number => {
    const n = dests.length;
    let i = from >= n ? HEAD : from;
    for (let k = 0; k < n; k++) {
      i = i + 1 === n ? 0 : i + 1;
      const d = dests[i]!;
      if (!d.overloaded && d.weight > 0) return i;
    }
    return -1;
  };

  if (shared) {
    // The cell holds cursor + 1 (0 = the list head). Every copy has the same list; one that changed it moves the
    // cell back to the head when the cursor no longer fits (the kernel would keep it on the same destination).
    const { cells, index } = shared;
    return {
      name: 'rr',
      update(list) {
        dests = list;
        const c = Atomics.load(cells, index);
        if (c - 1 >= list.length) Atomics.compareExchange(cells, index, c, 0);
      },
      pick() {
        for (;;) {
          const c = Atomics.load(cells, index);
          const i = next(c - 1);
          if (i < 0) return null;
          if (Atomics.compareExchange(cells, index, c, i + 1) === c) return dests[i]!;
        }
      },
    } satisfies Scheduler;
  }

  return {
    name: 'rr',
    update(list) {
      cursor = relocateCursor(dests, list, cursor);
      dests = list;
    },
    pick() {
      const i = next(cursor);
      if (i < 0) return null;
      cursor = i;
      return dests[i]!;
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
