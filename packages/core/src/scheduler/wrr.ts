/**
 * wrr — weighted round robin (net/netfilter/ipvs/ip_vs_wrr.c).
 *
 * State: cl (cursor, or the list head), cw (current weight), di (gcd of positive weights, 1 if none),
 * mw = max weight - (di - 1). A pick continues after cl and returns the first non-overloaded destination with
 * weight >= cw; each time the walk passes the head, cw -= di, and when cw drops to 0 or below it restarts at mw.
 * The walk gives up after a full pass at the last cw (ip_vs_wrr_schedule's last_pass/restarted/stop logic).
 * Any change (ip_vs_wrr_dest_changed) puts cl back at the head, recomputes di and mw, and sets cw = mw when
 * cw > mw or cw == 0, else (only when di > 1) cw = floor(cw / di) * di + 1.
 */
import { gcd } from './hash.js';
import type { SchedDest, Scheduler, SchedulerFactory } from './types.js';

const HEAD = -1;
const NONE = -2;

export const createWrr: SchedulerFactory = () => {
  let dests: readonly SchedDest[] = [];
  let cl = HEAD;
  let cw = 0;
  let mw = 0;
  let di = 1;

  function pick(): SchedDest | null {
    if (mw === 0) return null;
    const n = dests.length;
    const last = cl;
    let i = cl;
    let stop = NONE;
    let lastPass = false;
    let restarted = false;
    for (;;) {
      for (i = i + 1; i < n; i++) {
        const d = dests[i]!;
        if (!d.overloaded && d.weight >= cw) {
          cl = i;
          return d;
        }
        if (i === stop) {
          cl = i;
          return null;
        }
      }
      i = HEAD;
      cw -= di;
      if (cw <= 0) {
        cw = mw;
        if (lastPass || last === HEAD) {
          cl = HEAD;
          return null;
        }
        restarted = true;
      }
      lastPass = cw <= di;
      if (lastPass && restarted && last !== HEAD) stop = last;
    }
  }

  return {
    name: 'wrr',
    update(next) {
      dests = next;
      cl = HEAD;
      let g = 0;
      let max = 0;
      for (const d of next) {
        if (d.weight > 0) g = g > 0 ? gcd(d.weight, g) : d.weight;
        if (d.weight > max) max = d.weight;
      }
      di = g > 0 ? g : 1;
      mw = max - (di - 1);
      if (cw > mw || cw === 0) cw = mw;
      else if (di > 1) cw = Math.trunc(cw / di) * di + 1;
    },
    pick,
  } satisfies Scheduler;
};
