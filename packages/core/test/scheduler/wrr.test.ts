import { describe, expect, it } from 'vitest';
import { createScheduler } from '../../src/scheduler/registry.js';
import { byName, dests, seq } from './helpers.js';

describe('wrr (ip_vs_wrr.c)', () => {
  it('ip_vs_wrr.c: weights 4,3,2 give A A B A B C A B C', () => {
    const s = createScheduler('wrr');
    s.update(dests({ A: 4, B: 3, C: 2 }));
    expect(seq(s, 18)).toBe('A A B A B C A B C A A B A B C A B C');
  });

  it('ip_vs_wrr.c: the step is the gcd of the weights (4,2 -> di 2, mw 3): A A B', () => {
    const s = createScheduler('wrr');
    s.update(dests({ A: 4, B: 2 }));
    expect(seq(s, 9)).toBe('A A B A A B A A B');
  });

  it('ip_vs_wrr.c: weight 0 is never chosen; all weights 0 (mw == 0) gives no destination', () => {
    const s = createScheduler('wrr');
    s.update(dests({ A: 2, B: 0, C: 1 }));
    expect(seq(s, 6)).toBe('A A C A A C');
    s.update(dests({ A: 0, B: 0 }));
    expect(seq(s, 2)).toBe('- -');
  });

  it('ip_vs_wrr.c: OVERLOAD destinations are passed over; all overloaded ends after the last pass', () => {
    const list = dests({ A: 4, B: 3, C: 2 });
    byName(list, 'A').overloaded = true;
    const s = createScheduler('wrr');
    s.update(list);
    expect(seq(s, 5)).toBe('B B C B C');
    for (const d of list) d.overloaded = true;
    expect(seq(s, 2)).toBe('- -');
    for (const d of list) d.overloaded = false;
    expect(seq(s, 1)).not.toBe('-');
  });

  it('ip_vs_wrr_dest_changed: cw > new mw resets cw to mw and the cursor to the head', () => {
    const list = dests({ A: 4, B: 3, C: 2 });
    const s = createScheduler('wrr');
    s.update(list);
    expect(seq(s, 1)).toBe('A'); // cw = 4
    byName(list, 'A').weight = 2; // mw = 3 < cw
    s.update(list);
    expect(seq(s, 8)).toBe('B A B C A B C B');
  });

  it('ip_vs_wrr_dest_changed: with di > 1 a kept cw becomes (cw / di) * di + 1', () => {
    const list = dests({ A: 4, B: 3, C: 2 });
    const s = createScheduler('wrr');
    s.update(list);
    expect(seq(s, 6)).toBe('A A B A B C'); // now cw = 2, cursor on C
    byName(list, 'B').weight = 2; // di = 2, mw = 3, cw = (2/2)*2+1 = 3, cursor at head
    s.update(list);
    expect(seq(s, 8)).toBe('A A B C A A B C');
  });

  it('ip_vs_wrr_dest_changed: with di == 1 cw is kept, only the cursor returns to the head', () => {
    const list = dests({ A: 4, B: 3, C: 2 });
    const s = createScheduler('wrr');
    s.update(list);
    expect(seq(s, 3)).toBe('A A B'); // cw = 3, cursor on B
    s.update(list);
    expect(seq(s, 5)).toBe('A B A B C'); // without the update: A B C A B
  });
});
