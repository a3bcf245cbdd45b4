/**
 * twos — power of two choices (net/netfilter/ipvs/ip_vs_twos.c, Linux 6.2+).
 *
 * total = sum of the weights of non-overloaded destinations with weight > 0, plus 1. Two numbers r1, r2 are
 * drawn from [0, total) (the kernel's prandom_u32() % total). Walking the eligible destinations in
 * list order and subtracting each weight from both, choice 1 is the first where r1 <= 0, choice 2 likewise.
 * Choice 2 wins when w2 * overhead1 > w1 * overhead2 (fewer connections per weight), otherwise choice 1.
 * The random source is injectable (SchedulerOptions.random, uniform in [0, 1)) so tests can seed it.
 */
import { WeightSumIndex } from './dest-index.js';
import type { SchedDest, Scheduler, SchedulerFactory } from './types.js';

export const createTwos: SchedulerFactory = (options) => {
  // Without an injected source, an xorshift32 generator in a typed array (seeded from Math.random) stands in for
  // prandom_u32(): r = u32 % total as in the kernel, and no double is boxed per pick (Math.random's is).
  const random = options.random;
  const state = new Int32Array(1);
  state[0] = (Math.random() * 0x7fffffff) | 1;
  let dests: readonly SchedDest[] = [];
  // Tracked destinations: weight sums in a tree make both the total and each walk O(log n).
  const sums = new WeightSumIndex();
  let indexed = false;
  return {
    name: 'twos',
    update(next) {
      dests = next;
      indexed = sums.attach(next);
    },
    close() {
      sums.detach();
      indexed = false;
    },
    pick() {
      const n = dests.length;
      let total = 0;
      if (indexed) total = sums.total();
      else {
        for (let i = 0; i < n; i++) {
          const d = dests[i]!;
          if (!d.overloaded && d.weight > 0) total += d.weight;
        }
      }
      if (total === 0) return null;
      total += 1;
      let r1: number;
      let r2: number;
      if (random === undefined) {
        let x = state[0]!;
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        r1 = (x >>> 0) % total;
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        r2 = (x >>> 0) % total;
        state[0] = x;
      } else {
        r1 = Math.floor(random() * total);
        r2 = Math.floor(random() * total);
      }
      let c1: SchedDest | null = null;
      let c2: SchedDest | null = null;
      if (indexed) {
        c1 = sums.find(r1);
        c2 = sums.find(r2);
      }
      for (let i = 0; !indexed && i < n; i++) {
        const d = dests[i]!;
        if (d.overloaded || d.weight <= 0) continue;
        r1 -= d.weight;
        r2 -= d.weight;
        if (r1 <= 0 && c1 === null) c1 = d;
        if (r2 <= 0 && c2 === null) c2 = d;
        if (c1 !== null && c2 !== null) break;
      }
      // r <= total - 1 = sum of weights, so both walks end on a destination.
      const a = c1!;
      const b = c2!;
      const oh1 = a.activeConns * 256 + a.inactiveConns;
      const oh2 = b.activeConns * 256 + b.inactiveConns;
      return b.weight * oh1 > a.weight * oh2 ? b : a;
    },
  } satisfies Scheduler;
};
