import { describe, expect, it } from 'vitest';
import { bindConnection } from '../../src/scheduler/overload.js';
import { createScheduler } from '../../src/scheduler/registry.js';
import { byName, dests, seq } from './helpers.js';

const bindActive = (d: Parameters<typeof bindConnection>[0]) => bindConnection(d, 'active');

describe('lc (ip_vs_lc.c)', () => {
  it('ip_vs_lc.c: least overhead activeconns*256 + inactconns, ties to the first (strict <)', () => {
    const list = dests({ A: 1, B: 1, C: 1 });
    byName(list, 'A').activeConns = 1; // 256
    byName(list, 'B').inactiveConns = 255; // 255
    byName(list, 'C').inactiveConns = 255; // 255, later in the list
    const s = createScheduler('lc');
    s.update(list);
    expect(seq(s, 1)).toBe('B');
  });

  it('ip_vs_lc.c: weight is ignored except that weight 0 is never chosen; OVERLOAD is skipped', () => {
    const list = dests({ A: 0, B: 100, C: 1, D: 1 });
    byName(list, 'B').activeConns = 2;
    byName(list, 'C').activeConns = 1;
    byName(list, 'D').overloaded = true;
    const s = createScheduler('lc');
    s.update(list);
    expect(seq(s, 1)).toBe('C');
  });

  it('ip_vs_lc.c: binding each pick as active spreads evenly: A B C A B C', () => {
    const s = createScheduler('lc');
    s.update(dests({ A: 1, B: 3, C: 2 }));
    expect(seq(s, 6, bindActive)).toBe('A B C A B C');
  });
});

describe('wlc (ip_vs_wlc.c)', () => {
  it('ip_vs_wlc.c: weights 3,1 with each pick bound active give A B A A A B A', () => {
    const s = createScheduler('wlc');
    s.update(dests({ A: 3, B: 1 }));
    expect(seq(s, 7, bindActive)).toBe('A B A A A B A');
  });

  it('ip_vs_wlc.c: a later weight-0 destination is never chosen even when idle; a first one is skipped', () => {
    const list = dests({ Z: 0, A: 1, B: 0 });
    byName(list, 'A').activeConns = 50;
    const s = createScheduler('wlc');
    s.update(list);
    expect(seq(s, 1)).toBe('A');
  });

  it('ip_vs_wlc.c: OVERLOAD destinations are skipped, none left gives no destination', () => {
    const list = dests({ A: 1, B: 1 });
    byName(list, 'A').overloaded = true;
    byName(list, 'B').activeConns = 9;
    const s = createScheduler('wlc');
    s.update(list);
    expect(seq(s, 1)).toBe('B');
    byName(list, 'B').overloaded = true;
    expect(seq(s, 1)).toBe('-');
  });

  it('ip_vs_wlc.c: the 64-bit cross-multiplication is exact near 2^52 (tie keeps the first)', () => {
    const list = dests({ A: 65534, B: 65535 });
    const m = 2 ** 20;
    byName(list, 'A').inactiveConns = 65534 * m;
    byName(list, 'B').inactiveConns = 65535 * m; // exactly the same load per weight
    const s = createScheduler('wlc');
    s.update(list);
    expect(seq(s, 1)).toBe('A');
    byName(list, 'B').inactiveConns -= 1; // 1 / 2^52 relatively lighter
    expect(seq(s, 1)).toBe('B');
  });
});

describe('sed (ip_vs_sed.c)', () => {
  it('ip_vs_sed.c: overhead is activeconns + 1, inactive ignored: idle weights 1,2 pick B', () => {
    const list = dests({ A: 1, B: 2 });
    byName(list, 'B').inactiveConns = 1000;
    const s = createScheduler('sed');
    s.update(list);
    expect(seq(s, 1)).toBe('B');
  });

  it('ip_vs_sed.c: weights 1,2 bound active give B A B B A B', () => {
    const s = createScheduler('sed');
    s.update(dests({ A: 1, B: 2 }));
    expect(seq(s, 6, bindActive)).toBe('B A B B A B');
  });
});

describe('nq (ip_vs_nq.c)', () => {
  it('ip_vs_nq.c: the first idle destination wins at once, whatever the weights', () => {
    const s = createScheduler('nq');
    s.update(dests({ A: 1, B: 10 }));
    expect(seq(s, 1)).toBe('A');
  });

  it('ip_vs_nq.c: without an idle destination the sed rule applies; weight 0 is skipped even if idle', () => {
    const list = dests({ Z: 0, A: 1, B: 3 });
    byName(list, 'A').activeConns = 1; // (1+1)/1 = 2
    byName(list, 'B').activeConns = 2; // (2+1)/3 = 1
    const s = createScheduler('nq');
    s.update(list);
    expect(seq(s, 1)).toBe('B');
    // (1+1)/1 vs (a+1)/3: B until (a+1) reaches 6, then A: B B B A B
    expect(seq(s, 5, bindActive)).toBe('B B B A B');
  });
});

describe('fo (ip_vs_fo.c)', () => {
  it('ip_vs_fo.c: highest weight, first on ties, OVERLOAD skipped, weight 0 never', () => {
    const list = dests({ A: 2, B: 5, C: 5 });
    const s = createScheduler('fo');
    s.update(list);
    expect(seq(s, 2)).toBe('B B');
    byName(list, 'B').overloaded = true;
    expect(seq(s, 1)).toBe('C');
    s.update(dests({ A: 0, B: 0 }));
    expect(seq(s, 1)).toBe('-');
  });
});

describe('ovf (ip_vs_ovf.c)', () => {
  it('ip_vs_ovf.c: stays on the heaviest until activeconns > weight, then overflows: A A A A B B B -', () => {
    const s = createScheduler('ovf');
    s.update(dests({ A: 3, B: 2 }));
    expect(seq(s, 8, bindActive)).toBe('A A A A B B B -');
  });

  it('ip_vs_ovf.c: weight 0 and OVERLOAD are skipped; equal weights go to the first', () => {
    const list = dests({ Z: 0, A: 2, B: 2 });
    const s = createScheduler('ovf');
    s.update(list);
    expect(seq(s, 1)).toBe('A');
    byName(list, 'A').overloaded = true;
    expect(seq(s, 1)).toBe('B');
  });
});
