/**
 * O(1)/O(log n) indexes over tracked destinations that give exactly the kernel's answer without a scan per pick.
 *
 * The kernel's lc/wlc/sed/fo/ovf loops (and nq's two phases) all return the first destination, in list order,
 * that is best among the eligible ones: each loop switches only on a strictly better candidate, and every
 * comparison used is a strict weak order (the cross-multiplied load comparisons of wlc/sed are the exact
 * rational order of overhead/weight for positive weights). "The better of two, the earlier on ties" is therefore
 * associative, and a tournament tree over list positions yields the same destination: leaves hold their own
 * position when eligible (-1 otherwise), each inner node the better of its children, the root the answer.
 * twos needs prefix sums of eligible weights instead ({@link WeightSumIndex}).
 * TrackedSchedDest setters report every change, which re-plays one leaf-to-root path (O(log n)).
 */
import { TrackedSchedDest } from './dest.js';
import type { DestWatcher } from './dest.js';
import type { SchedDest } from './types.js';

abstract class TrackedIndex implements DestWatcher {
  protected dests: readonly TrackedSchedDest[] = [];
  protected leaves = 1;

  /** Index `next` if every destination is tracked; returns false (and indexes nothing) otherwise. */
  attach(next: readonly SchedDest[]): boolean {
    const tracked = next.every((d) => d instanceof TrackedSchedDest);
    const keep = new Set<SchedDest>(tracked ? next : []);
    for (const d of this.dests) if (!keep.has(d)) d.unwatch(this);
    if (!tracked) {
      this.dests = [];
      this.reset(1);
      return false;
    }
    this.dests = next as readonly TrackedSchedDest[];
    let leaves = 1;
    while (leaves < next.length) leaves <<= 1;
    this.leaves = leaves;
    this.reset(leaves);
    for (let i = 0; i < next.length; i++) {
      this.dests[i]!.watch(this, i);
      this.setLeaf(i);
    }
    for (let node = leaves - 1; node >= 1; node--) this.combine(node);
    return true;
  }

  detach(): void {
    for (const d of this.dests) d.unwatch(this);
    this.dests = [];
    this.reset(1);
  }

  destChanged(position: number): void {
    this.setLeaf(position);
    for (let node = (this.leaves + position) >> 1; node >= 1; node >>= 1) this.combine(node);
  }

  protected abstract reset(leaves: number): void;
  protected abstract setLeaf(position: number): void;
  protected abstract combine(node: number): void;
}

export type BestMode = 'lc' | 'wlc' | 'sed' | 'fo' | 'ovf' | 'idle';

/** The first best eligible destination for one of the kernel's selection loops. */
export class BestIndex extends TrackedIndex {
  private tree = new Int32Array(2).fill(-1);

  constructor(private readonly mode: BestMode) {
    super();
  }

  best(): SchedDest | null {
    const i = this.tree[1]!;
    return i < 0 ? null : this.dests[i]!;
  }

  protected reset(leaves: number): void {
    this.tree = new Int32Array(2 * leaves).fill(-1);
  }

  protected setLeaf(i: number): void {
    const d = this.dests[i]!;
    const w = d.weight;
    let ok = !d.overloaded && w > 0;
    if (this.mode === 'ovf') ok &&= d.activeConns <= w;
    else if (this.mode === 'idle') ok &&= d.activeConns === 0;
    this.tree[this.leaves + i] = ok ? i : -1;
  }

  protected combine(node: number): void {
    const a = this.tree[2 * node]!;
    const b = this.tree[2 * node + 1]!;
    this.tree[node] = a < 0 ? b : b < 0 ? a : this.better(a, b);
  }

  /** The earlier position `a` unless `b` is strictly better (a < b, both eligible). */
  private better(a: number, b: number): number {
    const da = this.dests[a]!;
    const db = this.dests[b]!;
    switch (this.mode) {
      case 'lc':
        return db.activeConns * 256 + db.inactiveConns < da.activeConns * 256 + da.inactiveConns ? b : a;
      case 'wlc':
        return (da.activeConns * 256 + da.inactiveConns) * db.weight > (db.activeConns * 256 + db.inactiveConns) * da.weight ? b : a;
      case 'sed':
        return (da.activeConns + 1) * db.weight > (db.activeConns + 1) * da.weight ? b : a;
      case 'fo':
      case 'ovf':
        return db.weight > da.weight ? b : a;
      case 'idle':
        return a;
    }
  }
}

/**
 * Sums of the weights of eligible destinations (not overloaded, weight > 0) per subtree, for twos: the total,
 * and the first eligible destination whose running weight sum reaches r (the kernel's "r -= weight; r <= 0").
 */
export class WeightSumIndex extends TrackedIndex {
  private sums = new Float64Array(2);

  total(): number {
    return this.sums[1]!;
  }

  /** The first eligible position p with (sum of eligible weights up to and including p) >= r; r in [0, total]. */
  find(r: number): SchedDest {
    const sums = this.sums;
    let node = 1;
    while (node < this.leaves) {
      const left = sums[2 * node]!;
      // Go left when the left half holds an eligible destination whose running sum can reach r.
      if (left > 0 && r <= left) node = 2 * node;
      else {
        r -= left;
        node = 2 * node + 1;
      }
    }
    return this.dests[node - this.leaves]!;
  }

  protected reset(leaves: number): void {
    this.sums = new Float64Array(2 * leaves);
  }

  protected setLeaf(i: number): void {
    const d = this.dests[i]!;
    this.sums[this.leaves + i] = !d.overloaded && d.weight > 0 ? d.weight : 0;
  }

  protected combine(node: number): void {
    this.sums[node] = this.sums[2 * node]! + this.sums[2 * node + 1]!;
  }
}
