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

export const createWrr: SchedulerFactory = (options) => {
  let dests: readonly SchedDest[] = [];
  let cl = HEAD;
  let cw = 0;
  let mw = 0;
  let di = 1;
  // The walk's result, written by walk() (no object per pick).
  let outCl = HEAD;
  let outCw = 0;

  /** One pick from position (cl, cw): the destination or null, and the new position in outCl/outCw. */
  function walk(startCl: number, startCw: number): SchedDest | null {
    outCl = startCl;
    outCw = startCw;
    if (mw === 0) return null;
    const n = dests.length;
    const last = startCl >= n ? HEAD : startCl;
    let i = last;
    let w = startCw > mw || startCw <= 0 ? mw : startCw;
    let stop = NONE;
    let lastPass = false;
    let restarted = false;
    for (;;) {
      for (i = i + 1; i < n; i++) {
        const d = dests[i]!;
        if (!d.overloaded && d.weight >= w) {
          outCl = i;
          outCw = w;
          return d;
        }
        if (i === stop) {
          outCl = i;
          outCw = w;
          return null;
        }
      }
      i = HEAD;
      w -= di;
      if (w <= 0) {
        w = mw;
        if (lastPass || last === HEAD) {
          outCl = HEAD;
          outCw = w;
          return null;
        }
        restarted = true;
      }
      lastPass = w <= di;
      if (lastPass && restarted && last !== HEAD) stop = last;
    }
  }

  /** ip_vs_wrr_dest_changed: the head again, and cw brought within the new weights. */
  function rebase(w: number): number {
    if (w > mw || w === 0) return mw;
    if (di > 1) return Math.trunc(w / di) * di + 1;
    return w;
  }

  function recompute(next: readonly SchedDest[]): void {
    dests = next;
    let g = 0;
    let max = 0;
    for (const d of next) {
      if (d.weight > 0) g = g > 0 ? gcd(d.weight, g) : d.weight;
      if (d.weight > max) max = d.weight;
    }
    di = g > 0 ? g : 1;
    mw = max - (di - 1);
  }

  const shared = options.shared;
  if (shared) {
    // The cell packs (cl + 1) << 16 | cw: cw is at most the largest weight (65,535) and the list stays far below
    // 32,767 real servers. rebase() is idempotent, so every copy applying the same change leaves the same cell.
    const { cells, index } = shared;
    const pack = (c: number, w: number): number => (((c + 1) & 0x7fff) << 16) | (w & 0xffff);
    return {
      name: 'wrr',
      update(next) {
        recompute(next);
        for (;;) {
          const p = Atomics.load(cells, index);
          if (Atomics.compareExchange(cells, index, p, pack(HEAD, rebase(p & 0xffff))) === p) return;
        }
      },
      pick() {
        for (;;) {
          const p = Atomics.load(cells, index);
          const d = walk((p >>> 16) - 1, p & 0xffff);
          if (Atomics.compareExchange(cells, index, p, pack(outCl, outCw)) === p) return d;
        }
      },
    } satisfies Scheduler;
  }

  return {
    name: 'wrr',
    update(next) {
      recompute(next);
      cl = HEAD;
      cw = rebase(cw);
    },
    pick() {
      const d = walk(cl, cw);
      cl = outCl;
      cw = outCw;
      return d;
    },
  } satisfies Scheduler;
};
