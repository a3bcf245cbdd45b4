/**
 * dh — destination hashing (net/netfilter/ipvs/ip_vs_dh.c).
 *
 * A table of 2^CONFIG_IP_VS_DH_TAB_BITS buckets (256), filled by cycling through the destinations in list order,
 * one bucket each whatever the weight. The bucket is hash_32(ntohl(folded daddr), bits). If its destination has
 * weight 0 or is overloaded there is no fallback: no destination.
 */
import { hash32 } from './hash.js';
import type { SchedDest, Scheduler, SchedulerFactory } from './types.js';

export const DH_TAB_BITS_DEFAULT = 8;

export const createDh: SchedulerFactory = (options) => {
  const bits = options.dhTabBits ?? DH_TAB_BITS_DEFAULT;
  if (!Number.isInteger(bits) || bits < 1 || bits > 20) throw new RangeError(`dhTabBits must be 1..20, got ${bits}`);
  const table: (SchedDest | null)[] = new Array<SchedDest | null>(1 << bits).fill(null);
  return {
    name: 'dh',
    update(next) {
      const n = next.length;
      for (let i = 0; i < table.length; i++) table[i] = n === 0 ? null : next[i % n]!;
    },
    pick(packet) {
      const d = table[hash32(packet.daddr | 0, bits)]!;
      return d !== null && d.weight > 0 && !d.overloaded ? d : null;
    },
  } satisfies Scheduler;
};
