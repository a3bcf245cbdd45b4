/**
 * An O(1)-pick, O(log n)-update index for the least-connection family, giving exactly the kernel's answer.
 *
 * The kernel's lc/wlc/sed loops return the first destination, in list order, whose load is minimal among the
 * eligible ones (each loop only switches on a strictly smaller load, and the cross-multiplied comparison of
 * wlc/sed is the exact rational order of overhead/weight, which is transitive for positive weights). That is an
 * associative "better of two, the earlier on ties" operation, so a tournament tree over list positions yields the
 * same destination: leaves hold their own position when eligible (-1 otherwise), each inner node the better of its
 * children, the root the answer. TrackedSchedDest setters report changes, which re-play one leaf-to-root path.
 */
import type { DestWatcher, TrackedSchedDest } from './dest.js';
import { TrackedSchedDest as Tracked } from './dest.js';
import type { SchedDest } from './types.js';

export type LeastMode = 'lc' | 'wlc' | 'sed';

export class LeastIndex implements DestWatcher {
  private dests: readonly TrackedSchedDest[] = [];
  private leaves = 1;
  private tree = new Int32Array(2).fill(-1);

  constructor(private readonly mode: LeastMode) {}

  /** Index `next` if every destination is tracked; returns false (and indexes nothing) otherwise. */
  attach(next: readonly SchedDest[]): boolean {
    const tracked = next.every((d) => d instanceof Tracked);
    const keep = new Set<SchedDest>(tracked ? next : []);
    for (const d of this.dests) if (!keep.has(d)) d.unwatch(this);
    if (!tracked) {
      this.dests = [];
      this.tree.fill(-1);
      return false;
    }
    this.dests = next as readonly TrackedSchedDest[];
    let leaves = 1;
    while (leaves < next.length) leaves <<= 1;
    this.leaves = leaves;
    this.tree = new Int32Array(2 * leaves).fill(-1);
    for (let i = 0; i < next.length; i++) {
      this.dests[i]!.watch(this, i);
      this.tree[leaves + i] = this.eligible(i) ? i : -1;
    }
    for (let node = leaves - 1; node >= 1; node--) this.tree[node] = this.better(this.tree[2 * node]!, this.tree[2 * node + 1]!);
    return true;
  }

  detach(): void {
    for (const d of this.dests) d.unwatch(this);
    this.dests = [];
    this.tree.fill(-1);
  }

  best(): SchedDest | null {
    const i = this.tree[1]!;
    return i < 0 ? null : this.dests[i]!;
  }

  destChanged(position: number): void {
    const tree = this.tree;
    let node = this.leaves + position;
    tree[node] = this.eligible(position) ? position : -1;
    for (node >>= 1; node >= 1; node >>= 1) tree[node] = this.better(tree[2 * node]!, tree[2 * node + 1]!);
  }

  private eligible(i: number): boolean {
    const d = this.dests[i]!;
    return !d.overloaded && (this.mode === 'lc' ? d.weight !== 0 : d.weight > 0);
  }

  /** The earlier position `a` unless `b` is strictly less loaded (positions: a < b, -1 = none). */
  private better(a: number, b: number): number {
    if (a < 0) return b;
    if (b < 0) return a;
    const da = this.dests[a]!;
    const db = this.dests[b]!;
    switch (this.mode) {
      case 'lc':
        return db.activeConns * 256 + db.inactiveConns < da.activeConns * 256 + da.inactiveConns ? b : a;
      case 'wlc':
        return (da.activeConns * 256 + da.inactiveConns) * db.weight > (db.activeConns * 256 + db.inactiveConns) * da.weight ? b : a;
      case 'sed':
        return (da.activeConns + 1) * db.weight > (db.activeConns + 1) * da.weight ? b : a;
    }
  }
}
