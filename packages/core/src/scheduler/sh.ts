/**
 * sh — source hashing (net/netfilter/ipvs/ip_vs_sh.c).
 *
 * A table of 2^CONFIG_IP_VS_SH_TAB_BITS buckets (256), rebuilt on every change by walking the destinations in
 * list order and giving each `weight` consecutive buckets (weight 0 still one), cycling until full.
 * Bucket = (offset + hash_32(port + ntohl(folded saddr), bits)) & mask, port being the source port with
 * sh-port (flag-2) and 0 otherwise. Unavailable = weight <= 0 or overloaded: no destination, unless sh-fallback
 * (flag-1), which probes roffset = (offset + ihash) % size for offset 0..size-1 and takes the first available
 * (an empty bucket ends the search; only an empty table has those).
 */
import { IP_VS_SVC_F_SCHED1, IP_VS_SVC_F_SCHED2, schedFlagBits } from './flags.js';
import { hash32 } from './hash.js';
import type { SchedDest, Scheduler, SchedulerFactory } from './types.js';

export const SH_TAB_BITS_DEFAULT = 8;

export const createSh: SchedulerFactory = (options) => {
  const bits = options.shTabBits ?? SH_TAB_BITS_DEFAULT;
  if (!Number.isInteger(bits) || bits < 4 || bits > 20) throw new RangeError(`shTabBits must be 4..20, got ${bits}`);
  const size = 1 << bits;
  const mask = size - 1;
  const flagBits = schedFlagBits(options.flags);
  const fallback = (flagBits & IP_VS_SVC_F_SCHED1) !== 0;
  const usePort = (flagBits & IP_VS_SVC_F_SCHED2) !== 0;
  const table: (SchedDest | null)[] = new Array<SchedDest | null>(size).fill(null);

  function reassign(dests: readonly SchedDest[]): void {
    const n = dests.length;
    let p = 0;
    let count = 0;
    for (let i = 0; i < size; i++) {
      if (n === 0) {
        table[i] = null;
        continue;
      }
      const d = dests[p]!;
      table[i] = d;
      if (++count >= d.weight) {
        p = p + 1 === n ? 0 : p + 1;
        count = 0;
      }
    }
  }

  return {
    name: 'sh',
    update: reassign,
    pick(packet) {
      const h = hash32(((usePort ? packet.sport : 0) + packet.saddr) | 0, bits);
      const ihash = h & mask;
      let d = table[ihash]!;
      if (d === null) return null;
      if (d.weight > 0 && !d.overloaded) return d;
      if (!fallback) return null;
      for (let offset = 0; offset < size; offset++) {
        const roffset = (offset + ihash) % size;
        d = table[(roffset + h) & mask]!;
        if (d === null) return null;
        if (d.weight > 0 && !d.overloaded) return d;
      }
      return null;
    },
  } satisfies Scheduler;
};
