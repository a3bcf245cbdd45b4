import { describe, expect, it } from 'vitest';
import { createSchedDest, type TrackedSchedDest } from '../../src/scheduler/dest.js';
import { bindConnection, connectionBecameActive, unbindConnection } from '../../src/scheduler/overload.js';
import { createScheduler } from '../../src/scheduler/registry.js';
import { clearSlot, clearThreadCounts, sharedCountCells, type SharedCountCells } from '../../src/scheduler/shared-counts.js';
import type { SchedDest } from '../../src/scheduler/types.js';
import { PKT } from './helpers.js';

/**
 * Copies of one service's real servers in several threads (the proxy's engine threads), sharing their connection
 * counts: each copy counts its own connections, and what a scheduler is given (the views) sees all of them.
 */
const SLOTS = 8;

function layout(threads: number): SharedCountCells {
  return { cells: new Int32Array(new SharedArrayBuffer(4 * sharedCountCells(SLOTS, threads))), slots: SLOTS, threads };
}

/** Thread `t`'s copies of real servers A (slot 3) and B (slot 5). */
function copies(l: SharedCountCells, t: number, opts: { upperA?: number } = {}): { a: TrackedSchedDest; b: TrackedSchedDest; views: SchedDest[] } {
  const a = createSchedDest({ address: '10.0.0.1', port: 80, upperThreshold: opts.upperA ?? 0 });
  const b = createSchedDest({ address: '10.0.0.2', port: 80 });
  a.shareCounts(l, 3, t);
  b.shareCounts(l, 5, t);
  return { a, b, views: [a.shared!, b.shared!] };
}

/** One established connection counted by a thread's copy. */
function connect(d: TrackedSchedDest): void {
  bindConnection(d, 'inactive');
  connectionBecameActive(d);
}

describe('shared connection counts', () => {
  it('gives a scheduler the connections of every thread, while each copy keeps its own', () => {
    const l = layout(3);
    const t0 = copies(l, 0);
    const t1 = copies(l, 1);
    const t2 = copies(l, 2);
    for (let i = 0; i < 4; i++) connect(t0.a);
    for (let i = 0; i < 3; i++) connect(t2.a);
    connect(t1.b);
    bindConnection(t1.b, 'inactive');
    expect([t0.a.activeConns, t1.a.activeConns, t2.a.activeConns]).toEqual([4, 0, 3]);
    for (const t of [t0, t1, t2]) {
      expect(t.views.map((v) => [v.activeConns, v.inactiveConns])).toEqual([
        [7, 0],
        [1, 1],
      ]);
    }
    // lc in thread 1, which holds none of A's: A's overhead is 7 * 256, B's 256 + 1.
    const lc = createScheduler('lc');
    lc.update(t1.views);
    expect(lc.pick(PKT)!.key).toBe(t1.b.key);
    for (let i = 0; i < 2; i++) unbindConnection(t0.a, 'active');
    for (let i = 0; i < 3; i++) unbindConnection(t2.a, 'active');
    expect(t1.views[0]!.activeConns).toBe(2);
  });

  it('sets and clears OVERLOAD from the totals, and any thread sees it', () => {
    const l = layout(2);
    const t0 = copies(l, 0, { upperA: 4 });
    const t1 = copies(l, 1, { upperA: 4 });
    connect(t0.a);
    connect(t0.a);
    connect(t1.a);
    expect(t1.views[0]!.overloaded).toBe(false);
    connect(t1.a);
    // 4 in all, 2 here: the upper threshold counts them together.
    expect(t0.views[0]!.overloaded).toBe(true);
    const rr = createScheduler('rr');
    rr.update(t0.views);
    expect([rr.pick(PKT)!.key, rr.pick(PKT)!.key]).toEqual([t0.b.key, t0.b.key]);
    // Cleared under 3/4 of the upper threshold (no lower one): at 2, by whichever thread unbinds.
    unbindConnection(t0.a, 'active');
    expect(t1.views[0]!.overloaded).toBe(true);
    unbindConnection(t0.a, 'active');
    expect(t1.views[0]!.overloaded).toBe(false);
  });

  it('masks a real server for one pick of one thread without touching the shared flag', () => {
    const l = layout(2);
    const t0 = copies(l, 0);
    const t1 = copies(l, 1);
    const view = t0.a.shared!;
    view.excluded = true;
    expect(view.overloaded).toBe(true);
    expect(t1.views[0]!.overloaded).toBe(false);
    view.excluded = false;
    expect(view.overloaded).toBe(false);
  });

  it('zeroes a column when its thread is gone or a real server leaves, and a slot before it is reused', () => {
    const l = layout(2);
    const t0 = copies(l, 0, { upperA: 1 });
    const t1 = copies(l, 1);
    connect(t0.a);
    connect(t1.a);
    connect(t1.b);
    expect(t1.views[0]!.activeConns).toBe(2);
    clearThreadCounts(l, 0);
    expect(t1.views[0]!.activeConns).toBe(1);
    t1.b.shareCounts(null);
    expect(t0.views[1]!.activeConns).toBe(0);
    // Its local count stays, for the connections it still carries.
    expect(t1.b.activeConns).toBe(1);
    expect(t1.b.shared).toBeUndefined();
    expect(t1.views[0]!.overloaded).toBe(true);
    clearSlot(l, 3);
    expect([t1.views[0]!.activeConns, t1.views[0]!.overloaded]).toEqual([0, false]);
  });
});
