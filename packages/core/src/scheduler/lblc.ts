/**
 * lblc — locality-based least connection (net/netfilter/ipvs/ip_vs_lblc.c).
 *
 * A per-service table maps a destination IP to the real server last chosen for it. On a hit the cached server
 * is used if it is still in the service (IP_VS_DEST_F_AVAILABLE), has weight > 0 and is not "overloaded" in
 * lblc's sense: activeconns > weight while some server of the service has activeconns * 2 < weight.
 * (The kernel does not test the threshold OVERLOAD flag on a hit; the wlc fallback does skip flagged servers.)
 * Otherwise the wlc rule picks a server and the entry is replaced. Entries expire as {@link LocalityTable} says.
 */
import { coarseClock } from './coarse-clock.js';
import { weightedLeast } from './least.js';
import { DEFAULT_EXPIRATION, LocalityTable } from './locality.js';
import type { SchedDest, Scheduler, SchedulerFactory, SchedulerOptions } from './types.js';

interface LblcEntry {
  dest: SchedDest;
  lastuse: number;
}

/** An lblc scheduler that also shows its table (for tests and diagnostics). */
export interface LblcScheduler extends Scheduler {
  /** The real server cached for a folded destination address, if any. */
  cached(daddr: number): SchedDest | undefined;
  tableSize(): number;
}

export const createLblc: SchedulerFactory = (options) => createLblcScheduler(options);

export function createLblcScheduler(options: SchedulerOptions = {}): LblcScheduler {
  // Without an injected clock, the shared coarse clock: reading the time must not allocate on a pick.
  const clock = options.now;
  const cell = clock === undefined ? coarseClock() : null;
  const table = new LocalityTable<LblcEntry>(options.expiration ?? DEFAULT_EXPIRATION, cell !== null ? cell[0]! : clock!());
  let dests: readonly SchedDest[] = [];
  let byKey = new Map<string, SchedDest>();

  return {
    name: 'lblc',
    cached: (daddr) => table.get(daddr | 0)?.dest,
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
      if (en !== undefined) {
        en.lastuse = t;
        // A server deleted and re-added is the same server to the kernel (ip_vs_trash_get_dest).
        const cur = byKey.get(en.dest.key);
        if (cur !== undefined) {
          en.dest = cur;
          if (cur.weight > 0 && !localityOverloaded(cur, dests)) return cur;
        }
      }
      const dest = weightedLeast(dests);
      if (dest === null) return null;
      if (en === undefined || en.dest !== dest) table.set(key, { dest, lastuse: t });
      return dest;
    },
  };
}

/** is_overloaded() of lblc/lblcr: over its weight in active connections while another server is under half. */
export function localityOverloaded(dest: SchedDest, dests: readonly SchedDest[]): boolean {
  if (dest.activeConns <= dest.weight) return false;
  for (let i = 0, n = dests.length; i < n; i++) {
    const d = dests[i]!;
    if (d.activeConns * 2 < d.weight) return true;
  }
  return false;
}
