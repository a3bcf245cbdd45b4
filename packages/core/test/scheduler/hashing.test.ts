import { describe, expect, it } from 'vitest';
import { createSchedPacket } from '../../src/scheduler/dest.js';
import { hash32 } from '../../src/scheduler/hash.js';
import { createScheduler } from '../../src/scheduler/registry.js';
import type { SchedDest } from '../../src/scheduler/types.js';
import { byName, dests, nameOf } from './helpers.js';

const src = (saddr: number, sport = 0) => createSchedPacket(saddr, sport, 0, 0);
const dst = (daddr: number) => createSchedPacket(0, 0, daddr, 0);
const ADDRS = Array.from({ length: 200 }, (_, i) => (0xc0a80000 + i * 7919) >>> 0);

describe('dh (ip_vs_dh.c)', () => {
  it('ip_vs_dh.c: bucket hash_32(daddr, 8) of a table filled cyclically one bucket per destination', () => {
    const list = dests({ A: 1, B: 9, C: 1 });
    const s = createScheduler('dh');
    s.update(list);
    for (const a of ADDRS) expect(nameOf(s.pick(dst(a)))).toBe('ABC'[hash32(a, 8) % 3]);
    // 10.0.0.100: (0x0a000064 * 0x61c88647) mod 2^32 >> 24 = 248, and 248 % 3 = 2 -> C
    expect(hash32(0x0a000064, 8)).toBe(248);
    expect(nameOf(s.pick(dst(0x0a000064)))).toBe('C');
  });

  it('ip_vs_dh.c: an unavailable bucket destination gives none, with no fallback', () => {
    const list = dests({ A: 1, B: 0 });
    const s = createScheduler('dh');
    s.update(list);
    const toB = ADDRS.find((a) => hash32(a, 8) % 2 === 1)!;
    const toA = ADDRS.find((a) => hash32(a, 8) % 2 === 0)!;
    expect(nameOf(s.pick(dst(toB)))).toBe('-');
    byName(list, 'A').overloaded = true;
    expect(nameOf(s.pick(dst(toA)))).toBe('-');
    s.update([]);
    expect(nameOf(s.pick(dst(toA)))).toBe('-');
  });
});

/** The sh table as ip_vs_sh_reassign builds it: each dest `weight` consecutive buckets, weight 0 still one. */
function shLayout(list: SchedDest[], size = 256): string[] {
  const out: string[] = [];
  let p = 0;
  let c = 0;
  while (out.length < size) {
    out.push(nameOf(list[p]!));
    if (++c >= list[p]!.weight) {
      p = (p + 1) % list.length;
      c = 0;
    }
  }
  return out;
}

describe('sh (ip_vs_sh.c)', () => {
  it('ip_vs_sh_reassign: weights 2,1,3 fill buckets A A B C C C A A B ...; bucket = hash_32(saddr, 8)', () => {
    const list = dests({ A: 2, B: 1, C: 3 });
    const layout = shLayout(list);
    expect(layout.slice(0, 9).join(' ')).toBe('A A B C C C A A B');
    const s = createScheduler('sh');
    s.update(list);
    for (const a of ADDRS) expect(nameOf(s.pick(src(a, 1234)))).toBe(layout[hash32(a, 8)]);
  });

  it('ip_vs_sh.c: deterministic across instances; the source port only counts with sh-port (flag-2)', () => {
    const list = dests({ A: 1, B: 1, C: 1, D: 1 });
    const a = createScheduler('sh');
    const b = createScheduler('sh');
    const p = createScheduler('sh', { flags: ['sh-port'] });
    const f2 = createScheduler('sh', { flags: ['flag-2'] });
    for (const s of [a, b, p, f2]) s.update(list);
    const layout = shLayout(list);
    let differs = 0;
    for (const addr of ADDRS) {
      expect(a.pick(src(addr, 1))).toBe(b.pick(src(addr, 2)));
      const withPort = p.pick(src(addr, 4242));
      expect(nameOf(withPort)).toBe(layout[hash32((addr + 4242) >>> 0, 8)]);
      expect(f2.pick(src(addr, 4242))).toBe(withPort);
      if (withPort !== a.pick(src(addr, 4242))) differs++;
    }
    expect(differs).toBeGreaterThan(50);
  });

  it('ip_vs_sh.c: weight 0 keeps one bucket but is unavailable: none without fallback', () => {
    const list = dests({ A: 0, B: 1 });
    const s = createScheduler('sh');
    s.update(list);
    const toA = ADDRS.filter((x) => hash32(x, 8) % 2 === 0);
    for (const x of toA) expect(s.pick(src(x))).toBeNull();
  });

  it('ip_vs_sh_get_fallback (sh-fallback / flag-1): probe (roffset + hash) & mask from roffset = ihash', () => {
    const list = dests({ A: 1, B: 1, C: 1 });
    byName(list, 'A').weight = 0;
    byName(list, 'B').overloaded = true;
    const layout = shLayout(list);
    for (const flags of [['sh-fallback'], ['flag-1']] as const) {
      const s = createScheduler('sh', { flags: [...flags] });
      s.update(list);
      for (const x of ADDRS) {
        const h = hash32(x, 8);
        let expected = layout[h]!;
        if (expected !== 'C') {
          expected = '-';
          for (let off = 0; off < 256; off++) {
            const cand = layout[(((off + h) % 256) + h) & 255]!;
            if (cand === 'C') {
              expected = 'C';
              break;
            }
          }
        }
        expect(nameOf(s.pick(src(x)))).toBe(expected);
      }
    }
  });
});
