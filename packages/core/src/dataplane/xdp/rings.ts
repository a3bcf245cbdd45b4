/**
 * The lookup rings the XDP program schedules with, built by vsd's own schedulers so that its picks are the
 * proxy's: mh's Maglev table as is (the program hashes the client the way mh.ts does), and for rr and wrr one
 * whole cycle of picks of a fresh scheduler, which the program walks with a shared counter.
 */
import { createMhScheduler, type MhScheduler } from '../../scheduler/mh.js';
import { createScheduler } from '../../scheduler/registry.js';
import type { SchedDest, SchedFlag } from '../../scheduler/types.js';
import { GOLDEN_RATIO_32 } from '../../scheduler/hash.js';
import { VSD_DEST_NONE, VSD_RING_STRIDE, VSD_SCHED_HASH, VSD_SCHED_SEQ, VSD_SCHED_SH, VSD_SVC_BITS_SHIFT, VSD_SVC_HASH_PORT } from './layout.js';

/** Schedulers the program can run without live connection counts. */
export const XDP_SCHEDULERS: readonly string[] = Object.freeze(['rr', 'wrr', 'mh', 'sh', 'dh']);

export interface Ring {
  sched: number;
  flags: number;
  /** Destination index per slot (VSD_DEST_NONE for an empty mh slot). */
  slots: Uint32Array;
  /** True when an rr/wrr cycle was longer than a ring holds and was cut (the picks are then approximate). */
  truncated: boolean;
}

/** Number of picks in one rr or wrr cycle: available destinations, or the sum of weight/gcd (ip_vs_wrr.c). */
export function cycleLength(scheduler: string, dests: readonly SchedDest[]): number {
  const live = dests.filter((d) => d.weight > 0 && !d.overloaded);
  if (scheduler === 'rr') return live.length;
  let g = 0;
  for (const d of live) g = g === 0 ? d.weight : gcdOf(g, d.weight);
  return g === 0 ? 0 : live.reduce((n, d) => n + d.weight / g, 0);
}

function gcdOf(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/**
 * rr/wrr: the first cycle of picks of a fresh scheduler over `dests` (kernel list order), as destination indices.
 * `indexOf` maps a SchedDest to its program index.
 */
export function sequenceRing(scheduler: 'rr' | 'wrr', dests: readonly SchedDest[], indexOf: (d: SchedDest) => number): Ring {
  const sched = createScheduler(scheduler);
  sched.update(dests);
  const length = cycleLength(scheduler, dests);
  const n = Math.min(length, VSD_RING_STRIDE);
  const slots = new Uint32Array(n);
  const packet = { saddr: 0, sport: 0, daddr: 0, dport: 0 };
  for (let i = 0; i < n; i++) {
    const d = sched.pick(packet);
    slots[i] = d ? indexOf(d) : VSD_DEST_NONE;
  }
  return { sched: VSD_SCHED_SEQ, flags: 0, slots, truncated: length > n };
}

/** mh: the service's persistent mh scheduler (it remembers last weights) updated with `dests`, as a ring. */
export function mhRing(mh: MhScheduler, flags: readonly SchedFlag[], dests: readonly SchedDest[], indexOf: (d: SchedDest) => number): Ring {
  mh.update(dests);
  const table = mh.lookupTable();
  const slots = new Uint32Array(table.length);
  for (let i = 0; i < table.length; i++) {
    const d = table[i];
    slots[i] = d ? indexOf(d) : VSD_DEST_NONE;
  }
  const port = flags.includes('mh-port') || flags.includes('flag-2');
  return { sched: VSD_SCHED_HASH, flags: port ? VSD_SVC_HASH_PORT : 0, slots, truncated: false };
}

export function createMhFor(flags: readonly SchedFlag[]): MhScheduler {
  return createMhScheduler({ flags });
}

/** GOLDEN_RATIO_32^-1 mod 2^32: turns a bucket back into a value that hash_32 sends there. */
const GOLDEN_INVERSE = (() => {
  const m = 1n << 32n;
  let [r0, r1, t0, t1] = [m, BigInt(GOLDEN_RATIO_32), 0n, 1n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [t0, t1] = [t1, t0 - q * t1];
  }
  return Number(((t0 % m) + m) % m);
})();

export const SH_XDP_BITS = 8;

/**
 * sh: its bucket table read back through pick(): for each bucket, a source that hash_32 sends there, so the
 * ring is what the TS sh answers bucket by bucket (unavailable buckets empty, as sh answers none there).
 */
export function shRing(flags: readonly SchedFlag[], dests: readonly SchedDest[], indexOf: (d: SchedDest) => number): Ring {
  const sched = createScheduler('sh', { flags: flags.filter((f) => f === 'sh-port' || f === 'flag-2'), shTabBits: SH_XDP_BITS });
  sched.update(dests);
  const size = 1 << SH_XDP_BITS;
  const slots = new Uint32Array(size);
  const packet = { saddr: 0, sport: 0, daddr: 0, dport: 0 };
  for (let b = 0; b < size; b++) {
    packet.saddr = Math.imul(b << (32 - SH_XDP_BITS), GOLDEN_INVERSE) | 0;
    const d = sched.pick(packet);
    slots[b] = d ? indexOf(d) : VSD_DEST_NONE;
  }
  const port = flags.includes('sh-port') || flags.includes('flag-2');
  return { sched: VSD_SCHED_SH, flags: (SH_XDP_BITS << VSD_SVC_BITS_SHIFT) | (port ? VSD_SVC_HASH_PORT : 0), slots, truncated: false };
}

/** dh hashes the destination address: for one virtual service that is one bucket, so one slot. */
export function dhRing(vipFold: number, dests: readonly SchedDest[], indexOf: (d: SchedDest) => number): Ring {
  const sched = createScheduler('dh');
  sched.update(dests);
  const d = sched.pick({ saddr: 0, sport: 0, daddr: vipFold, dport: 0 });
  return { sched: VSD_SCHED_SEQ, flags: 0, slots: Uint32Array.of(d ? indexOf(d) : VSD_DEST_NONE), truncated: false };
}
