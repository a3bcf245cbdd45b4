/**
 * mh — Maglev hashing (net/netfilter/ipvs/ip_vs_mh.c).
 *
 * Table size M = primes[CONFIG_IP_VS_MH_TAB_INDEX - 8], 4093 by default (not the paper's 65537).
 * Each destination gets offset = hsiphash(port + fold, key1) % M and skip = hsiphash(…, key2) % (M - 1) + 1,
 * with the fixed keys 2654435761 and 2654446892 (both words), so tables are the same on every director.
 * Weights use last_weight (the latest non-zero weight; a destination added with weight 0 has 0): a quiesced
 * destination keeps its slots and is merely unavailable, which keeps the mapping stable across drains.
 * turns = (last_weight / gcd) >> rshift, or 1 if that is 0 and last_weight != 0; rshift shrinks the largest
 * weight to IP_VS_MH_TAB_BITS (= INDEX / 2) bits. Population is Maglev round robin: each destination in list
 * order claims its next free preferred slot `turns` times per round until all M slots are taken.
 * Lookup: hsiphash(port + fold(saddr), key1) % M, port being the source port only with mh-port (flag-2).
 * Unavailable (weight <= 0 or overloaded) gives no destination, unless mh-fallback (flag-1) which probes
 * roffset = (offset + ihash) % M added into the hashed value.
 */
import { IP_VS_SVC_F_SCHED1, IP_VS_SVC_F_SCHED2, schedFlagBits } from './flags.js';
import { fls, gcd, hsiphashKey, hsiphashU32, hsiphashU32Mod } from './hash.js';
import type { SchedDest, Scheduler, SchedulerFactory, SchedulerOptions } from './types.js';

export const MH_PRIMES = Object.freeze([251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071]);
export const MH_TAB_INDEX_DEFAULT = 12;
export const MH_KEY1 = hsiphashKey(2654435761n, 2654435761n);
export const MH_KEY2 = hsiphashKey(2654446892n, 2654446892n);

/** An mh scheduler that also shows its lookup table (for tests and diagnostics). */
export interface MhScheduler extends Scheduler {
  /** The M slots, each the destination it maps to (null before any destination has a non-zero weight). */
  lookupTable(): readonly (SchedDest | null)[];
}

export const createMh: SchedulerFactory = (options) => createMhScheduler(options);

export function createMhScheduler(options: SchedulerOptions = {}): MhScheduler {
  const index = options.mhTabIndex ?? MH_TAB_INDEX_DEFAULT;
  if (!Number.isInteger(index) || index < 8 || index > 17) throw new RangeError(`mhTabIndex must be 8..17, got ${index}`);
  const size = MH_PRIMES[index - 8]!;
  const tabBits = Math.trunc(index / 2);
  const flagBits = schedFlagBits(options.flags);
  const fallback = (flagBits & IP_VS_SVC_F_SCHED1) !== 0;
  const usePort = (flagBits & IP_VS_SVC_F_SCHED2) !== 0;
  const lookup: (SchedDest | null)[] = new Array<SchedDest | null>(size).fill(null);
  /** dest key -> last_weight */
  let lastWeight = new Map<string, number>();

  function reassign(dests: readonly SchedDest[]): void {
    const lw = trackLastWeights(dests);
    // ip_vs_mh_reassign refuses more destinations than slots (EINVAL) and keeps the old table.
    if (dests.length > size) return;
    let g = 0;
    let max = 0;
    for (const w of lw) {
      if (w > 0) g = g > 0 ? gcd(w, g) : w;
      if (w > max) max = w;
    }
    if (g < 1) {
      lookup.fill(null);
      return;
    }
    const rshift = Math.max(0, fls(Math.trunc(max / g)) - tabBits);
    const n = dests.length;
    const skip = new Uint32Array(n);
    const perm = new Uint32Array(n);
    const turns = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const d = dests[i]!;
      const v = (d.port + d.addrFold) >>> 0;
      perm[i] = hsiphashU32(v, MH_KEY1) % size;
      skip[i] = (hsiphashU32(v, MH_KEY2) % (size - 1)) + 1;
      turns[i] = Math.trunc(lw[i]! / g) >> rshift || (lw[i] !== 0 ? 1 : 0);
    }
    populate(dests, perm, skip, turns);
  }

  function populate(dests: readonly SchedDest[], perm: Uint32Array, skip: Uint32Array, turns: Int32Array): void {
    const used = new Uint8Array(size);
    let filled = 0;
    for (;;) {
      let dt = 0;
      for (let p = 0; p < dests.length; ) {
        if (turns[p]! < 1) {
          p++;
          continue;
        }
        let c = perm[p]!;
        while (used[c] === 1) {
          c += skip[p]!;
          if (c >= size) c -= size;
        }
        perm[p] = c;
        used[c] = 1;
        lookup[c] = dests[p]!;
        if (++filled === size) return;
        if (++dt >= turns[p]!) {
          dt = 0;
          p++;
        }
      }
    }
  }

  /** __ip_vs_update_dest: last_weight follows the weight on add and on any non-zero edit. */
  function trackLastWeights(dests: readonly SchedDest[]): number[] {
    const next = new Map<string, number>();
    const out: number[] = [];
    for (const d of dests) {
      const prev = lastWeight.get(d.key);
      const w = prev === undefined || d.weight !== 0 ? d.weight : prev;
      next.set(d.key, w);
      out.push(w);
    }
    lastWeight = next;
    return out;
  }

  function hashOf(packet: { saddr: number; sport: number }, roffset: number): number {
    return hsiphashU32Mod((roffset + (usePort ? packet.sport : 0) + packet.saddr) | 0, MH_KEY1, size);
  }

  return {
    name: 'mh',
    lookupTable: () => lookup,
    update: reassign,
    pick(packet) {
      const ihash = hashOf(packet, 0);
      let d = lookup[ihash]!;
      if (d === null) return null;
      if (d.weight > 0 && !d.overloaded) return d;
      if (!fallback) return null;
      for (let offset = 0; offset < size; offset++) {
        d = lookup[hashOf(packet, (offset + ihash) % size)]!;
        if (d === null) return null;
        if (d.weight > 0 && !d.overloaded) return d;
      }
      return null;
    },
  };
}
