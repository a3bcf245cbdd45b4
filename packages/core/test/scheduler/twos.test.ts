import { describe, expect, it } from 'vitest';
import { createScheduler } from '../../src/scheduler/registry.js';
import { byName, dests, nameOf, PKT, seeded } from './helpers.js';

/** A random source replaying values in [0, 1). */
function script(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

describe('twos (ip_vs_twos.c)', () => {
  it('ip_vs_twos.c: r = random % (sum + 1); the first dest where r - cumulative weight <= 0 is chosen', () => {
    // weights 1,2,3: total 7. r1 = 0 -> A (0-1 <= 0); r2 = 4 -> C (4-1-2-3 <= 0).
    const list = dests({ A: 1, B: 2, C: 3 });
    const s = createScheduler('twos', { random: script(0 / 7, 4 / 7) });
    s.update(list);
    expect(nameOf(s.pick(PKT))).toBe('A'); // equal overheads: 3*0 > 1*0 is false, choice 1 stays
    byName(list, 'A').activeConns = 1; // overhead1 256: 3*256 > 1*0 -> choice 2
    expect(nameOf(s.pick(PKT))).toBe('C');
    // r = 7 - 1 = 6 (the "+1" makes r == sum possible) lands on the last dest
    const t = createScheduler('twos', { random: script(6 / 7) });
    t.update(dests({ A: 1, B: 2, C: 3 }));
    expect(nameOf(t.pick(PKT))).toBe('C');
  });

  it('ip_vs_twos.c: weight 0 and OVERLOAD destinations are never drawn; none eligible gives no destination', () => {
    const list = dests({ A: 0, B: 1, C: 5 });
    byName(list, 'C').overloaded = true;
    const s = createScheduler('twos', { random: seeded(7) });
    s.update(list);
    for (let i = 0; i < 50; i++) expect(nameOf(s.pick(PKT))).toBe('B');
    byName(list, 'B').weight = 0;
    expect(s.pick(PKT)).toBeNull();
  });

  it('ip_vs_twos.c: with a seeded random and no load, choice 1 follows the weights (1:2:3 over 6000 picks)', () => {
    const s = createScheduler('twos', { random: seeded(12345) });
    s.update(dests({ A: 1, B: 2, C: 3 }));
    const n: Record<string, number> = { A: 0, B: 0, C: 0 };
    for (let i = 0; i < 6000; i++) n[nameOf(s.pick(PKT))]!++;
    // r in [0, 6]: r = 0 and r = 1 -> A, 2..3 -> B, 4..6 -> C: expected 2/7, 2/7, 3/7
    expect(n.A! / 6000).toBeCloseTo(2 / 7, 1);
    expect(n.B! / 6000).toBeCloseTo(2 / 7, 1);
    expect(n.C! / 6000).toBeCloseTo(3 / 7, 1);
  });
});
