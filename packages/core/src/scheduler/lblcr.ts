/**
 * lblcr — locality-based least connection with replication (net/netfilter/ipvs/ip_vs_lblcr.c).
 *
 * A destination IP maps to a set of servers (newest first). On a hit: take the set's weighted-least member
 * (ip_vs_dest_set_min: skip OVERLOAD-flagged and deleted members, weight > 0); then, if the set has more than one
 * member and was last modified more than the expiration ago, remove its weighted-most member
 * (ip_vs_dest_set_max); if the chosen member exists and is not overloaded in lblc's sense, use it; otherwise
 * pick by wlc over the service and add that server to the set. On a miss: pick by wlc and create the entry.
 */
import { coarseClock } from './coarse-clock.js';
import { weightedLeast } from './least.js';
import { localityOverloaded } from './lblc.js';
import { DEFAULT_EXPIRATION, LocalityTable } from './locality.js';
import type { SchedDest, Scheduler, SchedulerFactory, SchedulerOptions } from './types.js';

interface LblcrEntry {
  /** Most recently inserted first (list_add_rcu). */
  set: SchedDest[];
  lastmod: number;
  lastuse: number;
}

/** An lblcr scheduler that also shows its table (for tests and diagnostics). */
export interface LblcrScheduler extends Scheduler {
  /** The server set of a folded destination address, newest first (empty when there is no entry). */
  cachedSet(daddr: number): readonly SchedDest[];
  tableSize(): number;
}

export const createLblcr: SchedulerFactory = (options) => createLblcrScheduler(options);

export function createLblcrScheduler(options: SchedulerOptions = {}): LblcrScheduler {
  // Without an injected clock, the shared coarse clock: reading the time must not allocate on a pick.
  const clock = options.now;
  const cell = clock === undefined ? coarseClock() : null;
  const expiration = options.expiration ?? DEFAULT_EXPIRATION;
  const table = new LocalityTable<LblcrEntry>(expiration, cell !== null ? cell[0]! : clock!());
  let dests: readonly SchedDest[] = [];
  let byKey = new Map<string, SchedDest>();

  /** Current object of a set member, or undefined when it left the service (not AVAILABLE). */
  function resolve(set: SchedDest[], i: number): SchedDest | undefined {
    const cur = byKey.get(set[i]!.key);
    if (cur !== undefined) set[i] = cur;
    return cur;
  }

  function setMin(set: SchedDest[]): SchedDest | null {
    let i = 0;
    let least: SchedDest | null = null;
    for (; i < set.length; i++) {
      const d = set[i]!;
      if (d.overloaded) continue;
      if (d.weight > 0 && resolve(set, i) !== undefined) {
        least = set[i]!;
        break;
      }
    }
    if (least === null) return null;
    let loh = least.activeConns * 256 + least.inactiveConns;
    for (i++; i < set.length; i++) {
      const d = set[i]!;
      if (d.overloaded) continue;
      const doh = d.activeConns * 256 + d.inactiveConns;
      if (loh * d.weight > doh * least.weight && resolve(set, i) !== undefined) {
        least = set[i]!;
        loh = doh;
      }
    }
    return least;
  }

  function setMax(set: SchedDest[]): SchedDest | null {
    let i = 0;
    let most: SchedDest | null = null;
    for (; i < set.length; i++) {
      if (set[i]!.weight > 0) {
        most = set[i]!;
        break;
      }
    }
    if (most === null) return null;
    let moh = most.activeConns * 256 + most.inactiveConns;
    for (i++; i < set.length; i++) {
      const d = set[i]!;
      const doh = d.activeConns * 256 + d.inactiveConns;
      if (moh * d.weight < doh * most.weight && d.weight > 0) {
        most = d;
        moh = doh;
      }
    }
    return most;
  }

  function insert(en: LblcrEntry, dest: SchedDest, t: number): void {
    for (const d of en.set) if (d.key === dest.key) return;
    en.set.unshift(dest);
    en.lastmod = t;
  }

  return {
    name: 'lblcr',
    cachedSet: (daddr) => table.get(daddr | 0)?.set ?? [],
    tableSize: () => table.size,
    update(next) {
      dests = next;
      byKey = new Map(next.map((d) => [d.key, d]));
    },
    pick(packet) {
      const t = cell !== null ? cell[0]! : +clock!();
      if (t >= table.nextCheck) table.runTimers(t);
      const key = packet.daddr | 0;
      const en = table.get(key);
      if (en === undefined) {
        const dest = weightedLeast(dests);
        if (dest !== null) table.set(key, { set: [dest], lastmod: t, lastuse: t });
        return dest;
      }
      en.lastuse = t;
      let dest = setMin(en.set);
      if (en.set.length > 1 && t > en.lastmod + expiration) {
        const m = setMax(en.set);
        if (m !== null) {
          en.set.splice(en.set.indexOf(m), 1);
          en.lastmod = t;
        }
      }
      if (dest !== null && !localityOverloaded(dest, dests)) return dest;
      dest = weightedLeast(dests);
      if (dest !== null) insert(en, dest, t);
      return dest;
    },
  };
}
