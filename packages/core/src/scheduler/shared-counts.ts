/**
 * Connection counts of destinations scheduled by several threads (the proxy's epoll engine threads), so that the
 * least-connection family (lc, wlc, sed, nq, and the overhead rules of lblc/lblcr/twos/ovf) and the thresholds see
 * every thread's connections, as the kernel's one set of counters does.
 *
 * Each thread keeps counting in its own destination (dest.ts's TrackedSchedDest) and mirrors its active and inactive counts into its
 * own column of a shared Int32Array: one writer per cell, so plain stores suffice and nothing is lost to races. A
 * {@link SharedCountView} sums the columns of one destination; schedulers are given views instead of the thread's
 * destinations. Views are not tracked, so the index-backed schedulers fall back to the kernel's own scan (a view's
 * counts change when other threads connect, and nothing would tell the index).
 *
 * Layout, thread-major so that a thread's writes stay on cache lines of its own: cell `(thread * slots + slot) * 2`
 * holds the active count, the next one the inactive count. After every thread's columns, one cell per slot holds
 * the OVERLOAD flag, which any thread sets or clears from the totals (as the kernel's one flag per destination);
 * a race between two threads leaves it to the next bind or unbind to settle.
 */
import type { SchedDest } from './types.js';

export interface SharedCountCells {
  cells: Int32Array;
  /** Destination slots per thread. */
  slots: number;
  threads: number;
}

/** Int32 cells needed for `slots` destinations counted by `threads` threads. */
export function sharedCountCells(slots: number, threads: number): number {
  return slots * (threads * 2 + 1);
}

/** The OVERLOAD flag of the destination in `slot`. */
export function flagCell(layout: SharedCountCells, slot: number): number {
  return layout.threads * layout.slots * 2 + slot;
}

/** Make `slot` ready for a new destination: no counts in any thread's column, not overloaded. */
export function clearSlot(layout: SharedCountCells, slot: number): void {
  for (let t = 0; t < layout.threads; t++) layout.cells.fill(0, countCell(layout, slot, t), countCell(layout, slot, t) + 2);
  layout.cells[flagCell(layout, slot)] = 0;
}

/** Where thread `thread` keeps the counts of the destination in `slot`. */
export function countCell(layout: SharedCountCells, slot: number, thread: number): number {
  return (thread * layout.slots + slot) * 2;
}

/** Forget what `thread` counted (it died with its connections): zero its column. */
export function clearThreadCounts(layout: SharedCountCells, thread: number): void {
  const from = countCell(layout, 0, thread);
  layout.cells.fill(0, from, from + layout.slots * 2);
}

/** One destination as every thread's connections count it; weight, thresholds and flags are the local ones. */
export class SharedCountView implements SchedDest {
  readonly key: string;
  readonly address: string;
  readonly port: number;
  readonly addrFold: number;
  /** Masked out for one pick by this thread (the retry after it failed), whatever the shared flag says. */
  excluded = false;
  private readonly flagAt: number;

  constructor(
    /** The thread's own destination (a TrackedSchedDest; typed by what is read, so dest.ts can import this file). */
    private readonly local: SchedDest,
    private readonly layout: SharedCountCells,
    private readonly slot: number,
  ) {
    this.key = local.key;
    this.address = local.address;
    this.port = local.port;
    this.addrFold = local.addrFold;
    this.flagAt = flagCell(layout, slot);
  }

  get activeConns(): number {
    return this.sum(0);
  }
  get inactiveConns(): number {
    return this.sum(1);
  }

  private sum(offset: number): number {
    const { cells, slots, threads } = this.layout;
    let n = 0;
    for (let t = 0, i = this.slot * 2 + offset; t < threads; t++, i += slots * 2) n += cells[i]!;
    return n;
  }

  get weight(): number {
    return this.local.weight;
  }
  get overloaded(): boolean {
    return this.excluded || this.layout.cells[this.flagAt] !== 0;
  }
  get persistConns(): number {
    return this.local.persistConns;
  }
  get upperThreshold(): number {
    return this.local.upperThreshold;
  }
  get lowerThreshold(): number {
    return this.local.lowerThreshold;
  }
}
