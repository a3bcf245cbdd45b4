/**
 * The epoll engine threads of one proxy dataplane, seen as one: requests go to every thread, answers are merged
 * (counters summed, connection tables concatenated), and persistence templates learnt from the peer go to the
 * thread the kernel will steer that client to (./steer.ts).
 *
 * With one thread this is a thin wrapper. With several, every thread owns a copy of each TCP service and
 * schedules the connections its listener accepts: see "Proxy dataplane" in docs/ARCHITECTURE.md for what that
 * changes (rr/wrr keep one sequence through a shared position, lc/wlc/sed/nq and thresholds compare every thread's
 * connections through shared counts, and persistence stays exact).
 */
import type { Logger } from '@vsd/sys';
import type { Counters, ConnectionEntry, DataplaneService, PersistenceEntry, ServiceStatus } from '../../types.js';
import type { Timeouts } from '../../../model/schema.js';
import { clearSlot, clearThreadCounts, sharedCountCells, type SharedCountCells } from '../../../scheduler/index.js';
import { EpollEngine } from './client.js';
import { COUNT_SLOTS, type EngineOptions } from './protocol.js';
import { steerIndex } from './steer.js';

type EngineCounters = ReturnType<EpollEngine['counters']>;

/** A thread that dies is restarted, up to this many times in RESTART_WINDOW_MS (then its share stays down). */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;

/** Services with a shared rr/wrr position; more get one sequence per thread. */
const POSITION_SLOTS = 65_536;

export class EngineGroup {
  private readonly engines: EpollEngine[];
  private readonly options: EngineOptions;
  /** What the threads were last told, for a restarted one. */
  private table: {
    table: DataplaneService[];
    proxyProtocol: string[];
    positions?: Record<string, number>;
    countSlots?: Record<string, Record<string, number>>;
  } | null = null;
  private timeouts: Timeouts | null = null;
  private readonly restarts: number[] = [];
  private stopping = false;
  /** rr/wrr positions shared by the threads: a cell per service, by key; the scheduler each cell was last used by. */
  private readonly positions: Int32Array | null;
  private readonly positionSlots = new SlotPool(POSITION_SLOTS);
  private readonly schedulerOf = new Map<string, string>();
  /** Real servers' connection counts shared by the threads, a slot per (service, real server). */
  private readonly counts: SharedCountCells | null;
  private readonly countSlots = new SlotPool(COUNT_SLOTS);

  constructor(
    private readonly log: Logger,
    options: EngineOptions,
    private readonly script?: string,
  ) {
    if (options.threads > 1 && !options.positions) options = { ...options, positions: new SharedArrayBuffer(4 * POSITION_SLOTS) };
    if (options.threads > 1 && !options.counts) options = { ...options, counts: new SharedArrayBuffer(4 * sharedCountCells(COUNT_SLOTS, options.threads)) };
    this.options = options;
    this.positions = options.positions ? new Int32Array(options.positions) : null;
    this.counts = options.counts ? { cells: new Int32Array(options.counts), slots: COUNT_SLOTS, threads: options.threads } : null;
    this.engines = Array.from({ length: options.threads }, (_, i) => this.make(i));
  }

  /**
   * Give each service a position cell (zeroed when new or when its scheduler changed) and free those of services
   * gone from the table. A retired service's last retries may still read a freed cell: rr and wrr start over from
   * the head on a position that does not fit them.
   */
  private assignPositions(table: DataplaneService[]): Record<string, number> | undefined {
    const cells = this.positions;
    if (!cells) return undefined;
    const out: Record<string, number> = {};
    for (const e of table) {
      const scheduler = e.service.scheduler;
      const { slot, fresh } = this.positionSlots.take(e.key);
      if (slot < 0) continue;
      if (fresh || this.schedulerOf.get(e.key) !== scheduler) Atomics.store(cells, slot, 0);
      this.schedulerOf.set(e.key, scheduler);
      out[e.key] = slot;
    }
    for (const key of this.positionSlots.keepOnly(new Set(table.map((e) => e.key)))) this.schedulerOf.delete(key);
    return out;
  }

  /**
   * Give each (service, real server) a slot for its connection counts, cleared when new, and free those gone from
   * the table; each thread zeroes its own cells when a real server leaves it.
   */
  private assignCountSlots(table: DataplaneService[]): Record<string, Record<string, number>> | undefined {
    const counts = this.counts;
    if (!counts) return undefined;
    const out: Record<string, Record<string, number>> = {};
    const live = new Set<string>();
    for (const e of table) {
      const mine: Record<string, number> = (out[e.key] = {});
      for (const d of e.dests) {
        const pair = `${e.key}\n${d.key}`;
        live.add(pair);
        const { slot, fresh } = this.countSlots.take(pair);
        if (slot < 0) continue;
        if (fresh) clearSlot(counts, slot);
        mine[d.key] = slot;
      }
    }
    this.countSlots.keepOnly(live);
    return out;
  }

  private make(i: number): EpollEngine {
    const e = new EpollEngine(this.log, this.options, this.script, i);
    e.onFailure = () => void this.restart(i, e);
    return e;
  }

  /**
   * A thread died (its descriptors are closed: its listeners left their groups, its connections ended): start a new
   * one and give it the table, so the service keeps its capacity. Its connections and templates are lost, as they
   * would be with a crashed kernel module; a thread that keeps dying is left down and said so.
   */
  private async restart(i: number, dead: EpollEngine): Promise<void> {
    if (this.stopping || this.engines[i] !== dead) return;
    const now = Date.now();
    while (this.restarts.length > 0 && now - this.restarts[0]! > RESTART_WINDOW_MS) this.restarts.shift();
    if (this.restarts.length >= MAX_RESTARTS) {
      this.log.fatal(
        { engineThread: i, restarts: this.restarts.length },
        'epoll engine thread keeps failing: not restarted, its share of TCP is not forwarded',
      );
      return;
    }
    this.restarts.push(now);
    // Its connections are gone: so are its counts (the others' schedulers stop seeing them).
    if (this.counts) clearThreadCounts(this.counts, i);
    const e = this.make(i);
    try {
      await e.start();
      if (this.stopping) return void (await e.stop(0));
      this.engines[i] = e;
      if (this.timeouts) await e.call({ op: 'timeouts', timeouts: this.timeouts });
      if (this.table) await e.call({ op: 'reconcile', ...this.table });
      this.log.warn({ engineThread: i }, 'epoll engine thread restarted');
    } catch (err) {
      this.log.fatal({ err, engineThread: i }, 'epoll engine thread could not be restarted');
    }
  }

  /** End thread i at once, as a crash would (for supervision tests). */
  kill(i: number): Promise<void> {
    return this.engines[i]!.kill();
  }

  get threads(): number {
    return this.engines.length;
  }

  /** Start every thread; if one cannot start, the others are stopped and the error is thrown. */
  async start(): Promise<void> {
    const started: EpollEngine[] = [];
    try {
      for (const e of this.engines) {
        await e.start();
        started.push(e);
      }
    } catch (err) {
      await Promise.all(started.map((e) => e.stop(0)));
      throw err;
    }
  }

  /**
   * One thread after the other, so the listeners of a new service join their SO_REUSEPORT group in thread order:
   * the group's index i is thread i, which is what steers a client to the thread that holds its template.
   */
  async reconcile(table: DataplaneService[], proxyProtocol: string[]): Promise<void> {
    const positions = this.assignPositions(table);
    const countSlots = this.assignCountSlots(table);
    this.table = { table, proxyProtocol, positions, countSlots };
    for (const e of this.engines) await e.call({ op: 'reconcile', table, proxyProtocol, positions, countSlots });
  }

  async status(keys: string[]): Promise<Record<string, ServiceStatus>> {
    const parts = await Promise.all(this.engines.map((e) => e.call<Record<string, ServiceStatus>>({ op: 'status', keys })));
    if (parts.length === 1) return parts[0]!;
    const out: Record<string, ServiceStatus> = {};
    for (const part of parts) for (const [k, s] of Object.entries(part)) out[k] = out[k] ? mergeStatus(out[k], s) : s;
    return out;
  }

  async connections(): Promise<ConnectionEntry[]> {
    const parts = await Promise.all(this.engines.map((e) => e.call<ConnectionEntry[]>({ op: 'connections' })));
    return parts.flat();
  }

  async zero(key?: string): Promise<void> {
    await Promise.all(this.engines.map((e) => e.call({ op: 'zero', key })));
  }

  async setTimeouts(timeouts: Timeouts): Promise<void> {
    this.timeouts = timeouts;
    await Promise.all(this.engines.map((e) => e.call({ op: 'timeouts', timeouts })));
  }

  async exportPersistence(): Promise<PersistenceEntry[]> {
    const parts = await Promise.all(this.engines.map((e) => e.call<PersistenceEntry[]>({ op: 'exportPersistence' })));
    return parts.flat();
  }

  /** `prefixOf(service)`: the persistence prefix that service steers by (null: not persistent, any thread will do). */
  async importPersistence(entries: readonly PersistenceEntry[], prefixOf: (service: string) => number | null): Promise<void> {
    const n = this.engines.length;
    const shares: PersistenceEntry[][] = this.engines.map(() => []);
    for (const p of entries) {
      const prefix = n > 1 ? prefixOf(p.service) : null;
      shares[prefix === null ? 0 : steerIndex(p.client, prefix, n)]!.push(p);
    }
    await Promise.all(this.engines.map((e, i) => (shares[i]!.length ? e.call({ op: 'importPersistence', entries: shares[i]! }) : undefined)));
  }

  counters(): EngineCounters {
    const sum: EngineCounters = { connectFailures: 0, retries: 0, noDestination: 0, connections: 0, accepted: 0 };
    for (const e of this.engines) {
      const c = e.counters();
      sum.connectFailures += c.connectFailures;
      sum.retries += c.retries;
      sum.noDestination += c.noDestination;
      sum.connections += c.connections;
      sum.accepted += c.accepted;
    }
    return sum;
  }

  /** Each thread's TCP connections accepted since start and alive now, in thread order. */
  perThread(): Array<{ accepted: number; connections: number }> {
    return this.engines.map((e) => {
      const { accepted, connections } = e.counters();
      return { accepted, connections };
    });
  }

  async stop(drainMs: number): Promise<void> {
    this.stopping = true;
    await Promise.all(this.engines.map((e) => e.stop(drainMs)));
  }
}

/**
 * Cells of a shared array handed out by key. Never-used cells go first and freed ones after, so a freed cell is
 * rarely reused while a thread that has not seen the new table yet still reads or writes it.
 */
class SlotPool {
  private readonly byKey = new Map<string, number>();
  private readonly free: number[] = [];
  private next = 0;

  constructor(private readonly size: number) {}

  /** The slot of `key`; `fresh` when it was just given one; -1 when every slot is taken. */
  take(key: string): { slot: number; fresh: boolean } {
    const had = this.byKey.get(key);
    if (had !== undefined) return { slot: had, fresh: false };
    const slot = this.next < this.size ? this.next++ : (this.free.shift() ?? -1);
    if (slot >= 0) this.byKey.set(key, slot);
    return { slot, fresh: slot >= 0 };
  }

  /** Free the slots of keys not in `live`; returns those keys. */
  keepOnly(live: ReadonlySet<string>): string[] {
    const gone: string[] = [];
    for (const [key, slot] of this.byKey)
      if (!live.has(key)) {
        this.byKey.delete(key);
        this.free.push(slot);
        gone.push(key);
      }
    return gone;
  }
}

function addCounters(a: Counters, b: Counters): Counters {
  const out = { ...a };
  for (const k of Object.keys(out) as Array<keyof Counters>) out[k] += b[k];
  return out;
}

/** One service as several threads see it: what IPVS would count for all of their connections. */
export function mergeStatus(a: ServiceStatus, b: ServiceStatus): ServiceStatus {
  const other = new Map(b.dests.map((d) => [d.key, d]));
  return {
    key: a.key,
    counters: addCounters(a.counters, b.counters),
    dests: a.dests.map((d) => {
      const o = other.get(d.key);
      if (!o) return d;
      return {
        key: d.key,
        activeConns: d.activeConns + o.activeConns,
        inactiveConns: d.inactiveConns + o.inactiveConns,
        persistConns: d.persistConns + o.persistConns,
        counters: addCounters(d.counters, o.counters),
      };
    }),
  };
}
