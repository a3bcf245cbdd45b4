import { describe, expect, it } from 'vitest';
import { createSchedDest, createSchedPacket } from '../../src/scheduler/dest.js';
import { hsiphashU32 } from '../../src/scheduler/hash.js';
import { MH_KEY1, createMhScheduler } from '../../src/scheduler/mh.js';
import { createScheduler } from '../../src/scheduler/registry.js';
import type { SchedDest } from '../../src/scheduler/types.js';
import { byName, dests, nameOf } from './helpers.js';

const src = (saddr: number, sport = 0) => createSchedPacket(saddr, sport, 0, 0);
const ADDRS = Array.from({ length: 2000 }, (_, i) => (0x0a640000 + i * 104729) >>> 0);

function counts(table: readonly (SchedDest | null)[]): Record<string, number> {
  const c: Record<string, number> = {};
  for (const d of table) c[nameOf(d)] = (c[nameOf(d)] ?? 0) + 1;
  return c;
}

describe('mh (ip_vs_mh.c)', () => {
  it('ip_vs_mh.c: default table is the prime 4093 and weights 1,2,3 take 683/1364/2046 slots (turns per round)', () => {
    const s = createMhScheduler();
    s.update(dests({ A: 1, B: 2, C: 3 }));
    expect(s.lookupTable()).toHaveLength(4093);
    // 682 full rounds of 1+2+3 slots fill 4092; the 683rd round ends after A's turn.
    expect(counts(s.lookupTable())).toEqual({ A: 683, B: 1364, C: 2046 });
  });

  it('ip_vs_mh_shift_weight: weights 1,1000 -> rshift 4, turns 1 and 62: 65/4028 slots', () => {
    const s = createMhScheduler();
    s.update(dests({ A: 1, B: 1000 }));
    expect(counts(s.lookupTable())).toEqual({ A: 65, B: 4028 });
  });

  it('ip_vs_mh.c: weights are reduced by their gcd (2,4,6 fills like 1,2,3)', () => {
    const s = createMhScheduler();
    s.update(dests({ A: 2, B: 4, C: 6 }));
    expect(counts(s.lookupTable())).toEqual({ A: 683, B: 1364, C: 2046 });
  });

  it('ip_vs_mh.c: every destination starts at offset = hsiphash(port + fold, key1) % M', () => {
    const s = createMhScheduler();
    const list = dests({ A: 1, B: 1 });
    s.update(list);
    const [a, b] = list;
    // In round 1, A claims its preferred slot first, so that slot is A's.
    const offA = hsiphashU32((a!.port + a!.addrFold) >>> 0, MH_KEY1) % 4093;
    expect(s.lookupTable()[offA]).toBe(a);
    const offB = hsiphashU32((b!.port + b!.addrFold) >>> 0, MH_KEY1) % 4093;
    if (offB !== offA) expect(s.lookupTable()[offB]).toBe(b);
  });

  it('ip_vs_mh.c: lookup is hsiphash(fold(saddr), key1) % M; deterministic across instances', () => {
    const list = dests({ A: 1, B: 1, C: 1, D: 1, E: 1 });
    const s1 = createMhScheduler();
    const s2 = createScheduler('mh');
    s1.update(list);
    s2.update(list);
    for (const x of ADDRS) {
      const d = s1.pick(src(x, 999));
      expect(d).toBe(s1.lookupTable()[hsiphashU32(x, MH_KEY1) % 4093]);
      expect(s2.pick(src(x, 1))).toBe(d);
    }
  });

  it('ip_vs_mh.c: mh-port (flag-2) hashes port + fold', () => {
    const list = dests({ A: 1, B: 1, C: 1 });
    for (const flag of ['mh-port', 'flag-2'] as const) {
      const s = createMhScheduler({ flags: [flag] });
      s.update(list);
      for (const x of ADDRS.slice(0, 200)) {
        expect(s.pick(src(x, 5555))).toBe(s.lookupTable()[hsiphashU32((x + 5555) >>> 0, MH_KEY1) % 4093]);
      }
    }
  });

  it('ip_vs_mh.c last_weight: a destination quiesced to 0 keeps its slots and is unavailable; mh-fallback moves on', () => {
    const list = dests({ A: 1, B: 1, C: 1 });
    const plain = createMhScheduler();
    const fb = createMhScheduler({ flags: ['mh-fallback'] });
    plain.update(list);
    fb.update(list);
    const before = plain.lookupTable().slice();
    byName(list, 'B').weight = 0;
    plain.update(list);
    fb.update(list);
    expect(plain.lookupTable()).toEqual(before);
    let toB = 0;
    for (const x of ADDRS) {
      const slot = plain.lookupTable()[hsiphashU32(x, MH_KEY1) % 4093];
      if (nameOf(slot!) !== 'B') {
        expect(plain.pick(src(x))).toBe(slot);
        expect(fb.pick(src(x))).toBe(slot);
        continue;
      }
      toB++;
      expect(plain.pick(src(x))).toBeNull();
      // ip_vs_mh_get_fallback: the first available slot among hash(roffset + fold) for roffset = ihash, ihash+1, ...
      const ihash = hsiphashU32(x, MH_KEY1) % 4093;
      let expected: SchedDest | null = null;
      for (let off = 0; off < 4093 && expected === null; off++) {
        const cand = plain.lookupTable()[hsiphashU32(((off + ihash) % 4093) + x, MH_KEY1) % 4093]!;
        if (cand.weight > 0 && !cand.overloaded) expected = cand;
      }
      expect(fb.pick(src(x))).toBe(expected);
      expect(nameOf(fb.pick(src(x)))).not.toBe('B');
    }
    expect(toB).toBeGreaterThan(400);
  });

  it('ip_vs_mh.c: a destination added with weight 0 gets no slots; all-zero weights leave the table empty', () => {
    const s = createMhScheduler();
    s.update(dests({ A: 0, B: 1 }));
    expect(counts(s.lookupTable())).toEqual({ B: 4093 });
    // The same real servers edited to 0 keep their last_weight, so B keeps every slot (unavailable)...
    s.update(dests({ A: 0, B: 0 }));
    expect(counts(s.lookupTable())).toEqual({ B: 4093 });
    expect(s.pick(src(1))).toBeNull();
    // ...while servers added with weight 0 have last_weight 0: gcd < 1, ip_vs_mh_reset empties the table.
    const fresh = createMhScheduler();
    fresh.update(dests({ X: 0, Y: 0 }));
    expect(counts(fresh.lookupTable())).toEqual({ '-': 4093 });
    expect(fresh.pick(src(1))).toBeNull();
  });

  it('Maglev consistency: removing one of 10 servers remaps few flows of the others', () => {
    const list = Array.from({ length: 10 }, (_, i) => createSchedDest({ address: `192.0.2.${i + 1}`, port: 8080, weight: 1 }));
    const s = createMhScheduler();
    s.update(list);
    const before = ADDRS.map((x) => s.pick(src(x)));
    const removed = list[3]!;
    s.update(list.filter((d) => d !== removed));
    let moved = 0;
    let kept = 0;
    ADDRS.forEach((x, i) => {
      if (before[i] === removed) return;
      kept++;
      if (s.pick(src(x)) !== before[i]) moved++;
    });
    expect(moved / kept).toBeLessThan(0.1);
  });

  it('CONFIG_IP_VS_MH_TAB_INDEX: index 8 gives 251 slots', () => {
    const s = createMhScheduler({ mhTabIndex: 8 });
    s.update(dests({ A: 1 }));
    expect(s.lookupTable()).toHaveLength(251);
  });
});
