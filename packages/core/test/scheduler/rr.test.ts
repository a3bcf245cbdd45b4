import { describe, expect, it } from 'vitest';
import { createScheduler } from '../../src/scheduler/registry.js';
import { byName, dests, seq } from './helpers.js';

describe('rr (ip_vs_rr.c)', () => {
  it('ip_vs_rr.c: cycles through the list in order: A B C A B C', () => {
    const s = createScheduler('rr');
    s.update(dests({ A: 1, B: 5, C: 1 }));
    expect(seq(s, 7)).toBe('A B C A B C A');
  });

  it('ip_vs_rr.c: skips weight 0 and OVERLOAD destinations', () => {
    const list = dests({ A: 1, B: 0, C: 1, D: 1 });
    byName(list, 'D').overloaded = true;
    const s = createScheduler('rr');
    s.update(list);
    expect(seq(s, 4)).toBe('A C A C');
  });

  it('ip_vs_rr.c: no destination when every one is quiesced or overloaded, and none for an empty list', () => {
    const s = createScheduler('rr');
    expect(seq(s, 1)).toBe('-');
    const list = dests({ A: 0, B: 1 });
    byName(list, 'B').overloaded = true;
    s.update(list);
    expect(seq(s, 2)).toBe('- -');
    byName(list, 'B').overloaded = false;
    expect(seq(s, 2)).toBe('B B');
  });

  it('ip_vs_rr.c add_dest=NULL: a new head destination does not move the cursor', () => {
    const list = dests({ A: 1, B: 1, C: 1, D: 1 });
    const [a, b, c, d] = list;
    const s = createScheduler('rr');
    s.update([a!, b!, c!]);
    expect(seq(s, 1)).toBe('A');
    s.update([d!, a!, b!, c!]); // list_add_rcu puts D at the head
    expect(seq(s, 4)).toBe('B C D A');
  });

  it('ip_vs_rr_del_dest: deleting the cursor destination continues after its predecessor', () => {
    const [a, b, c] = dests({ A: 1, B: 1, C: 1 });
    const s = createScheduler('rr');
    s.update([a!, b!, c!]);
    expect(seq(s, 2)).toBe('A B');
    s.update([a!, c!]);
    expect(seq(s, 3)).toBe('C A C');
  });
});
