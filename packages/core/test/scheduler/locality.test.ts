import { describe, expect, it } from 'vitest';
import { createSchedDest, createSchedPacket } from '../../src/scheduler/dest.js';
import { createLblcScheduler } from '../../src/scheduler/lblc.js';
import { createLblcrScheduler } from '../../src/scheduler/lblcr.js';
import { bindConnection } from '../../src/scheduler/overload.js';
import { byName, dests, fakeClock, nameOf } from './helpers.js';

const MIN = 60_000;
const DAY = 24 * 60 * MIN;
const X = 0xc6336401; // 198.51.100.1
const Y = 0xc6336402;
const to = (daddr: number) => createSchedPacket(0x0a0a0a0a, 5000, daddr, 80);

describe('lblc (ip_vs_lblc.c)', () => {
  it('ip_vs_lblc.c: a miss schedules by wlc and caches; hits stay on the cached server', () => {
    const clock = fakeClock();
    const list = dests({ A: 1, B: 1 });
    const s = createLblcScheduler({ now: clock.now });
    s.update(list);
    expect(nameOf(s.pick(to(X)))).toBe('A');
    bindConnection(byName(list, 'A'));
    expect(nameOf(s.pick(to(X)))).toBe('A'); // wlc alone would now say B
    expect(nameOf(s.pick(to(Y)))).toBe('B');
    expect(nameOf(s.cached(X)!)).toBe('A');
  });

  it('ip_vs_lblc.c is_overloaded: activeconns > weight while another has activeconns*2 < weight reschedules', () => {
    const clock = fakeClock();
    const list = dests({ A: 1, B: 4 });
    const s = createLblcScheduler({ now: clock.now });
    s.update(list);
    expect(nameOf(s.pick(to(X)))).toBe('A');
    byName(list, 'A').activeConns = 2;
    byName(list, 'B').activeConns = 2; // 4 < 4 is false: nobody is under half
    expect(nameOf(s.pick(to(X)))).toBe('A');
    byName(list, 'B').activeConns = 1; // 2 < 4: B is under half
    expect(nameOf(s.pick(to(X)))).toBe('B');
    expect(nameOf(s.cached(X)!)).toBe('B');
  });

  it('ip_vs_lblc.c: a cached server with weight 0 or removed is replaced; the OVERLOAD flag alone is not checked on a hit', () => {
    const clock = fakeClock();
    const list = dests({ A: 1, B: 1 });
    const [a, b] = list;
    const s = createLblcScheduler({ now: clock.now });
    s.update(list);
    expect(nameOf(s.pick(to(X)))).toBe('A');
    a!.overloaded = true;
    expect(nameOf(s.pick(to(X)))).toBe('A'); // kernel quirk: only weight and lblc's own overload test
    expect(nameOf(s.pick(to(Y)))).toBe('B'); // the wlc fallback does skip it
    a!.overloaded = false;
    a!.weight = 0;
    expect(nameOf(s.pick(to(X)))).toBe('B');
    s.update([a!]); // B deleted
    a!.weight = 1;
    expect(nameOf(s.pick(to(X)))).toBe('A');
    // Deleted and re-added (a new object with the same address): the kernel revives the same dest.
    const b2 = Object.assign(createSchedDest({ address: b!.address, port: b!.port, weight: 1 }), { name: 'B2' });
    s.update([b2, a!]);
    b2.activeConns = 1; // wlc alone would now pick A
    expect(nameOf(s.pick(to(Y)))).toBe('B2'); // Y was cached on B before the delete
  });

  it('ip_vs_lblc_full_check: entries unused for 24 h go at the 30-minute sweep (ticks at 30, 60, ... min)', () => {
    for (const [at, expected] of [
      [DAY - 1, 'A'],
      [DAY, 'B'], // 1440 min is a sweep tick: now >= lastuse + 24 h
    ] as const) {
      const clock = fakeClock();
      const list = dests({ A: 1, B: 1 });
      const s = createLblcScheduler({ now: clock.now });
      s.update(list);
      expect(nameOf(s.pick(to(X)))).toBe('A');
      bindConnection(byName(list, 'A'));
      clock.set(at);
      expect(nameOf(s.pick(to(X))), `at ${at}`).toBe(expected);
    }
  });

  it('lblc_expiration sysctl: expiration 45 min removes at the 60-minute sweep, not at 45', () => {
    const clock = fakeClock();
    const list = dests({ A: 1, B: 1 });
    const s = createLblcScheduler({ now: clock.now, expiration: 45 * MIN });
    s.update(list);
    s.pick(to(X));
    bindConnection(byName(list, 'A'));
    clock.set(59 * MIN);
    expect(s.tableSize()).toBe(1);
    s.pick(to(Y)); // runs the ticks up to 59 min: the 30-minute sweep keeps X (30 < 45)
    expect(s.cached(X)).toBeDefined();
    clock.set(60 * MIN);
    s.pick(to(Y));
    expect(s.cached(X)).toBeUndefined();
  });

  it('ip_vs_lblc_check_expire: over 16384 entries, entries idle 6 min are collected toward 4/3 of the excess', () => {
    const clock = fakeClock();
    const s = createLblcScheduler({ now: clock.now });
    s.update(dests({ A: 1 }));
    for (let i = 0; i < 17_000; i++) s.pick(to(0x0b000000 + i));
    expect(s.tableSize()).toBe(17_000);
    clock.set(6 * MIN - 1);
    s.pick(to(X));
    expect(s.tableSize()).toBe(17_001); // ticks at 1..5 min found nothing idle for 6 min
    clock.set(6 * MIN);
    s.pick(to(Y)); // the new entry for Y is not idle
    const removed = 17_002 - s.tableSize();
    expect(removed).toBeGreaterThanOrEqual(Math.trunc(((17_001 - 16_384) * 4) / 3));
    expect(removed).toBeLessThan(1_000);
  });
});

describe('lblcr (ip_vs_lblcr.c)', () => {
  it('ip_vs_lblcr.c: a miss creates a one-server set; an lblc-overloaded pick adds the wlc choice to the set', () => {
    const clock = fakeClock();
    const list = dests({ A: 1, B: 4 });
    const s = createLblcrScheduler({ now: clock.now });
    s.update(list);
    expect(nameOf(s.pick(to(X)))).toBe('A');
    expect(s.cachedSet(X).map(nameOf)).toEqual(['A']);
    byName(list, 'A').activeConns = 2; // > weight 1, and B (0*2 < 4) is under half
    expect(nameOf(s.pick(to(X)))).toBe('B');
    expect(s.cachedSet(X).map(nameOf)).toEqual(['B', 'A']);
    // ip_vs_dest_set_min: weighted least inside the set: A 512/1 vs B 0/4
    expect(nameOf(s.pick(to(X)))).toBe('B');
  });

  it('ip_vs_dest_set_min: skips OVERLOAD-flagged and weight-0 members', () => {
    const clock = fakeClock();
    const list = dests({ A: 1, B: 1, C: 1 });
    const s = createLblcrScheduler({ now: clock.now });
    s.update(list);
    s.pick(to(X)); // A
    byName(list, 'A').weight = 0;
    expect(nameOf(s.pick(to(X)))).toBe('B'); // set_min finds nothing: wlc over the service
    expect(s.cachedSet(X).map(nameOf)).toEqual(['B', 'A']);
    byName(list, 'A').weight = 1;
    byName(list, 'B').overloaded = true;
    expect(nameOf(s.pick(to(X)))).toBe('A');
  });

  it('ip_vs_lblcr.c: after lblcr_expiration without change, a hit drops the most loaded member of a multi-server set', () => {
    const clock = fakeClock();
    const list = dests({ A: 1, B: 4 });
    const s = createLblcrScheduler({ now: clock.now, expiration: 10 * MIN });
    s.update(list);
    s.pick(to(X));
    byName(list, 'A').activeConns = 2;
    s.pick(to(X)); // set {B, A}, lastmod 0
    clock.set(10 * MIN);
    expect(nameOf(s.pick(to(X)))).toBe('B');
    expect(s.cachedSet(X)).toHaveLength(2); // not yet: now > lastmod + expiration is strict
    clock.set(10 * MIN + 1);
    expect(nameOf(s.pick(to(X)))).toBe('B');
    expect(s.cachedSet(X).map(nameOf)).toEqual(['B']); // A (512 per weight 1) was the most loaded
  });

  it('ip_vs_lblcr_full_check: whole entries expire after the expiration at a 30-minute sweep', () => {
    const clock = fakeClock();
    const s = createLblcrScheduler({ now: clock.now });
    s.update(dests({ A: 1 }));
    s.pick(to(X));
    clock.set(DAY - 1);
    s.pick(to(Y));
    expect(s.cachedSet(X)).toHaveLength(1);
    clock.set(DAY);
    s.pick(to(Y));
    expect(s.cachedSet(X)).toHaveLength(0);
    expect(s.tableSize()).toBe(1);
  });

  it('no destination: both return null when every server is quiesced', () => {
    const list = dests({ A: 0 });
    const l = createLblcScheduler({ now: fakeClock().now });
    const r = createLblcrScheduler({ now: fakeClock().now });
    l.update(list);
    r.update(list);
    expect(l.pick(to(X))).toBeNull();
    expect(r.pick(to(X))).toBeNull();
  });
});
