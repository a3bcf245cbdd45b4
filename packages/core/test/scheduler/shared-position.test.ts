import { describe, expect, it } from 'vitest';
import { createScheduler } from '../../src/scheduler/registry.js';
import { byName, dests, nameOf, PKT, seq } from './helpers.js';

/**
 * Copies of one service's scheduler in several threads share its position (SchedulerOptions.shared): whichever copy
 * picks, the sequence is the one a single instance makes. Here the copies are in one thread, picking in an
 * irregular interleaving; Atomics on the shared cell are what makes the same hold across threads.
 */
function interleaved(name: string, weights: Record<string, number>, picks: number, copies = 3): string {
  const cells = new Int32Array(new SharedArrayBuffer(16));
  const list = dests(weights);
  const scheds = Array.from({ length: copies }, () => createScheduler(name, { shared: { cells, index: 2 } }));
  for (const s of scheds) s.update(list);
  const out: string[] = [];
  for (let i = 0; i < picks; i++) out.push(nameOf(scheds[(i * 7 + (i >> 2)) % copies]!.pick(PKT)));
  return out.join(' ');
}

function single(name: string, weights: Record<string, number>, picks: number): string {
  const s = createScheduler(name);
  s.update(dests(weights));
  return seq(s, picks);
}

describe('rr and wrr with a shared position', () => {
  it.each([
    ['rr', { A: 1, B: 1, C: 1 }],
    ['rr', { A: 1, B: 0, C: 1, D: 1 }],
    ['wrr', { A: 4, B: 3, C: 2 }],
    ['wrr', { A: 4, B: 2 }],
    ['wrr', { A: 5, B: 1, C: 0, D: 3 }],
  ] as const)('%s %j: copies picking in turn make the single instance sequence', (name, weights) => {
    expect(interleaved(name, weights, 40)).toBe(single(name, weights, 40));
  });

  it('follows a change of the list made in every copy, and passes over overloaded servers', () => {
    const cells = new Int32Array(new SharedArrayBuffer(4));
    const a = createScheduler('wrr', { shared: { cells, index: 0 } });
    const b = createScheduler('wrr', { shared: { cells, index: 0 } });
    const ref = createScheduler('wrr');
    let list = dests({ A: 4, B: 3, C: 2 });
    for (const s of [a, b, ref]) s.update(list);
    const got: string[] = [];
    const want: string[] = [];
    for (let i = 0; i < 7; i++) {
      got.push(nameOf((i % 2 ? a : b).pick(PKT)));
      want.push(nameOf(ref.pick(PKT)));
    }
    list = dests({ A: 4, B: 6, C: 2 });
    byName(list, 'C').overloaded = true;
    for (const s of [a, b, ref]) s.update(list);
    for (let i = 0; i < 12; i++) {
      got.push(nameOf((i % 3 ? a : b).pick(PKT)));
      want.push(nameOf(ref.pick(PKT)));
    }
    expect(got.join(' ')).toBe(want.join(' '));
  });

  it('starts over from the head when the shared cursor no longer fits a shorter list (rr)', () => {
    const cells = new Int32Array(new SharedArrayBuffer(4));
    const s = createScheduler('rr', { shared: { cells, index: 0 } });
    s.update(dests({ A: 1, B: 1, C: 1, D: 1 }));
    expect(seq(s, 4)).toBe('A B C D');
    s.update(dests({ A: 1, B: 1 }));
    expect(seq(s, 3)).toBe('A B A');
    // Garbage in the cell (a slot reused from another scheduler) is treated as "from the head".
    Atomics.store(cells, 0, 0x7fff0000);
    expect(seq(s, 2)).toBe('A B');
  });
});
