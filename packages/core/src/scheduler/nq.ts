/**
 * nq — never queue (net/netfilter/ipvs/ip_vs_nq.c).
 *
 * Over destinations that are not overloaded with weight != 0: the first idle one (activeconns == 0) is returned
 * at once; otherwise the sed rule (overhead activeconns + 1, cross-multiplied with the weights, ties to the first).
 */
import type { SchedDest, Scheduler, SchedulerFactory } from './types.js';

export const createNq: SchedulerFactory = () => {
  let dests: readonly SchedDest[] = [];
  return {
    name: 'nq',
    update(next) {
      dests = next;
    },
    pick() {
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
    },
  } satisfies Scheduler;
};
