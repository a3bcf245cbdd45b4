/**
 * A scheduler answered from a {@link BestIndex} when every destination is tracked, and by the kernel's own loop
 * (`scan`) otherwise. Both give the same destination; the index only makes a pick O(1).
 */
import { BestIndex } from './dest-index.js';
import type { BestMode } from './dest-index.js';
import type { SchedDest, Scheduler } from './types.js';

export function indexedScheduler(name: string, mode: BestMode, scan: (dests: readonly SchedDest[]) => SchedDest | null): Scheduler {
  let dests: readonly SchedDest[] = [];
  const index = new BestIndex(mode);
  let indexed = false;
  return {
    name,
    update(next) {
      dests = next;
      indexed = index.attach(next);
    },
    close() {
      index.detach();
      indexed = false;
    },
    pick() {
      return indexed ? index.best() : scan(dests);
    },
  };
}
