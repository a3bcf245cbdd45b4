import { describe, expect, it } from 'vitest';
import { createSchedDest } from '../../src/scheduler/dest.js';
import { createScheduler } from '../../src/scheduler/registry.js';
import type { SchedDest } from '../../src/scheduler/types.js';
import { PKT, seeded } from './helpers.js';

/** A plain-object twin: schedulers cannot index it and fall back to the kernel's literal scan. */
function plain(d: SchedDest): SchedDest {
  return { ...JSON.parse(JSON.stringify(d)) } as SchedDest;
}

describe('tracked-destination indexes (tournament tree, weight sums) equal the kernel loops', () => {
  for (const name of ['lc', 'wlc', 'sed', 'nq', 'fo', 'ovf', 'twos'] as const) {
    it(`ip_vs_${name}.c: 3000 random counter/weight/overload changes give the same pick as the linear scan`, () => {
      const rnd = seeded(name.length * 7919);
      const int = (n: number) => Math.floor(rnd() * n);
      const tracked = Array.from({ length: 37 }, (_, i) => createSchedDest({ address: `10.1.0.${i + 1}`, port: 80, weight: 1 + int(4) }));
      let twins = tracked.map(plain);
      // twos: the same scripted random numbers for both (each pick draws two)
      const draws = [seeded(99), seeded(99)];
      const fast = createScheduler(name, { random: draws[0] });
      const slow = createScheduler(name, { random: draws[1] });
      let order = tracked.map((_, i) => i);
      const sync = () => {
        fast.update(order.map((i) => tracked[i]!));
        slow.update(order.map((i) => twins[i]!));
      };
      sync();
      for (let step = 0; step < 3000; step++) {
        const i = int(tracked.length);
        const t = tracked[i]!;
        const p = twins[i]!;
        switch (int(7)) {
          case 0:
            t.activeConns = p.activeConns = int(6);
            break;
          case 1:
            t.inactiveConns = p.inactiveConns = int(600);
            break;
          case 2:
            t.weight = p.weight = int(3) === 0 ? 0 : 1 + int(5);
            break;
          case 3:
            t.overloaded = p.overloaded = int(4) === 0;
            break;
          case 4:
            if (int(20) === 0) {
              order = order.filter(() => int(5) !== 0);
              if (int(2) === 0) order = [...tracked.keys()].filter(() => int(3) !== 0).reverse();
              sync();
            }
            break;
          default: {
            const picked = fast.pick(PKT);
            if (picked) picked.activeConns++;
            const same = slow.pick(PKT);
            if (same) same.activeConns++;
            break;
          }
        }
        // (twos: both draw two numbers per pick from identical streams, so they stay in step)
        expect(fast.pick(PKT)?.key, `step ${step}`).toBe(slow.pick(PKT)?.key);
      }
      twins = [];
    });
  }

  it('two schedulers over the same destinations both stay exact; close() stops the updates', () => {
    const list = Array.from({ length: 5 }, (_, i) => createSchedDest({ address: `10.2.0.${i + 1}`, port: 80, weight: 1 }));
    const a = createScheduler('lc');
    const b = createScheduler('wlc');
    a.update(list);
    b.update(list);
    list[0]!.activeConns = 3;
    list[1]!.activeConns = 1;
    list[2]!.weight = 0;
    expect(a.pick(PKT)).toBe(list[3]);
    expect(b.pick(PKT)).toBe(list[3]);
    a.close?.();
    expect(a.pick(PKT)).toBe(list[3]); // after close: scans
    list[3]!.overloaded = true;
    expect(a.pick(PKT)).toBe(list[4]);
    expect(b.pick(PKT)).toBe(list[4]);
  });
});
