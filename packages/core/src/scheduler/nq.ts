/**
 * nq — never queue (net/netfilter/ipvs/ip_vs_nq.c).
 *
 * Over destinations that are not overloaded with weight != 0: the first idle one (activeconns == 0) is returned
 * at once; otherwise the sed rule (overhead activeconns + 1, cross-multiplied with the weights, ties to the first).
 * Tracked destinations are answered in O(1) by two indexes (first idle, sed-least); others by the kernel's loop.
 */
import { BestIndex } from './dest-index.js';
import type { SchedDest, Scheduler, SchedulerFactory } from './types.js';

export const createNq: SchedulerFactory = () => {
  let dests: readonly SchedDest[] = [];
  const idle = new BestIndex('idle');
  const least = new BestIndex('sed');
  let indexed = false;
  return {
    name: 'nq',
    update(next) {
      dests = next;
      indexed = idle.attach(next) && least.attach(next);
    },
    close() {
      idle.detach();
      least.detach();
      indexed = false;
    },
    pick() {
      return indexed ? (idle.best() ?? least.best()) : scanNq(dests);
    },
  } satisfies Scheduler;
};

/** The kernel's loop, literally. */
export function scanNq(dests: readonly SchedDest[]): SchedDest | null {
  let least: SchedDest | null = null;
  let loh = 0;
  let lw = 0;
  for (let i = 0, n = dests.length; i < n; i++) {
    const d = dests[i]!;
    if (d.overloaded || d.weight === 0) continue;
    if (d.activeConns === 0) return d;
    const doh = d.activeConns + 1;
    if (least === null || loh * d.weight > doh * lw) {
      least = d;
      loh = doh;
      lw = d.weight;
    }
  }
  return least;
}
