/**
 * Construction of {@link SchedDest} objects and the availability test shared by the schedulers.
 *
 * `createSchedDest` returns a {@link TrackedSchedDest}: the fields a scheduler reads are accessors whose setters
 * tell the destination's watchers (the indexes of lc/wlc/sed, see least-index.ts) which position changed, so those
 * schedulers can answer in O(1) instead of scanning 1,000 servers per pick. Plain objects that implement
 * SchedDest still work everywhere; schedulers fall back to the kernel's linear scan for them.
 */
import { foldAddress, hostPort } from '../model/address.js';
import { countCell, flagCell, SharedCountView, type SharedCountCells } from './shared-counts.js';
import type { SchedDest, SchedPacket } from './types.js';

export interface SchedDestInit {
  address: string;
  port: number;
  weight?: number;
  upperThreshold?: number;
  lowerThreshold?: number;
}

/** Told when weight, connection counters or the overload flag of a watched destination change. */
export interface DestWatcher {
  destChanged(position: number): void;
}

export class TrackedSchedDest implements SchedDest {
  readonly key: string;
  readonly address: string;
  readonly port: number;
  readonly addrFold: number;
  persistConns = 0;
  upperThreshold: number;
  lowerThreshold: number;
  private w: number;
  private active = 0;
  private inactive = 0;
  private over = false;
  private watchers: DestWatcher[] | null = null;
  private positions: number[] | null = null;
  /** With several scheduling threads: this thread's cells for the counts, and the view that sums all threads'. */
  private mirror: Int32Array | null = null;
  private mirrorAt = 0;
  private flagAt = 0;
  shared: SharedCountView | undefined;

  constructor(init: SchedDestInit) {
    this.key = hostPort(init.address, init.port);
    this.address = init.address;
    this.port = init.port;
    this.addrFold = foldAddress(init.address);
    this.w = init.weight ?? 1;
    this.upperThreshold = init.upperThreshold ?? 0;
    this.lowerThreshold = init.lowerThreshold ?? 0;
  }

  get weight(): number {
    return this.w;
  }
  set weight(v: number) {
    this.w = v;
    if (this.watchers !== null) this.notify();
  }
  get activeConns(): number {
    return this.active;
  }
  set activeConns(v: number) {
    this.active = v;
    if (this.mirror !== null) this.mirror[this.mirrorAt] = v;
    if (this.watchers !== null) this.notify();
  }
  get inactiveConns(): number {
    return this.inactive;
  }
  set inactiveConns(v: number) {
    this.inactive = v;
    if (this.mirror !== null) this.mirror[this.mirrorAt + 1] = v;
    if (this.watchers !== null) this.notify();
  }
  get overloaded(): boolean {
    return this.over;
  }
  set overloaded(v: boolean) {
    // The shared flag is written even when this copy already agrees: another thread may have changed it.
    if (this.mirror !== null) this.mirror[this.flagAt] = v ? 1 : 0;
    if (this.over === v) return;
    this.over = v;
    if (this.watchers !== null) this.notify();
  }

  /**
   * Count this destination together with the other threads' copies of it, in `slot` of `layout` as thread `thread`
   * (see ./shared-counts.ts); `shared` is then the view to give the scheduler. null stops it (the destination left
   * the service: its column is zeroed, its local counts stay for the connections it still carries).
   */
  shareCounts(layout: SharedCountCells | null, slot = 0, thread = 0): void {
    if (this.mirror !== null) this.mirror.fill(0, this.mirrorAt, this.mirrorAt + 2);
    if (layout === null) {
      this.mirror = null;
      this.shared = undefined;
      return;
    }
    this.mirror = layout.cells;
    this.mirrorAt = countCell(layout, slot, thread);
    this.flagAt = flagCell(layout, slot);
    this.mirror[this.mirrorAt] = this.active;
    this.mirror[this.mirrorAt + 1] = this.inactive;
    this.shared = new SharedCountView(this, layout, slot);
  }

  /** Register (or move) `watcher` at list position `position`. */
  watch(watcher: DestWatcher, position: number): void {
    if (this.watchers === null || this.positions === null) {
      this.watchers = [watcher];
      this.positions = [position];
      return;
    }
    const i = this.watchers.indexOf(watcher);
    if (i >= 0) this.positions[i] = position;
    else {
      this.watchers.push(watcher);
      this.positions.push(position);
    }
  }

  unwatch(watcher: DestWatcher): void {
    if (this.watchers === null || this.positions === null) return;
    const i = this.watchers.indexOf(watcher);
    if (i < 0) return;
    this.watchers.splice(i, 1);
    this.positions.splice(i, 1);
    if (this.watchers.length === 0) this.watchers = this.positions = null;
  }

  private notify(): void {
    const ws = this.watchers!;
    const ps = this.positions!;
    for (let i = 0; i < ws.length; i++) ws[i]!.destChanged(ps[i]!);
  }

  toJSON(): Record<string, unknown> {
    const { key, address, port, addrFold, weight, activeConns, inactiveConns, persistConns, upperThreshold, lowerThreshold, overloaded } = this;
    return { key, address, port, addrFold, weight, activeConns, inactiveConns, persistConns, upperThreshold, lowerThreshold, overloaded };
  }
}

export function createSchedDest(init: SchedDestInit): TrackedSchedDest {
  return new TrackedSchedDest(init);
}

/** A packet for the hashing schedulers; addresses are folded as {@link SchedDest.addrFold}. */
export function createSchedPacket(saddr = 0, sport = 0, daddr = 0, dport = 0): SchedPacket {
  return { saddr, sport, daddr, dport };
}

/** The "is_unavailable" test of sh/mh/dh, negated: weight > 0 and not overloaded. */
export function isAvailable(dest: SchedDest): boolean {
  return dest.weight > 0 && !dest.overloaded;
}
